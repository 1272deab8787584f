// The chat list: first page from GET /chats, more pages by following `next`, live additions.

export class ChatList {
  /**
   * `onOpen(chatId)` runs when the user picks a chat, `onAdded(chatIds)` when a loaded page
   * adds chats; `onError` gets failed loads. `empty` is shown while the list has no chat.
   */
  constructor(element, moreButton, empty, session, { onOpen, onAdded, onError }) {
    this.element = element;
    this.moreButton = moreButton;
    this.empty = empty;
    this.session = session;
    this.onOpen = onOpen;
    this.onAdded = onAdded;
    this.myId = null;
    this.entries = new Map(); // chat id -> {chat, button}
    this.next = null;
    this.generation = 0; // a load that was started before a reset must not add anything
    moreButton.addEventListener("click", () => this.load(this.next).catch(onError));
  }

  reset(myId) {
    this.myId = myId;
    this.generation += 1;
    this.entries.clear();
    this.next = null;
    this.element.replaceChildren();
    this.moreButton.hidden = true;
    this.empty.hidden = true;
  }

  has(chatId) { return this.entries.has(chatId); }

  ids() { return [...this.entries.keys()]; }

  /** The other members' nicknames. */
  label(chatId) {
    const chat = this.entries.get(chatId)?.chat;
    if (!chat) return `#${chatId}`;
    const others = chat.users.filter((user) => user.id !== this.myId);
    return others.length ? others.map((user) => user.nickname).join(", ") : "just you";
  }

  /** Show a chat (at the top when `newest`); false if it is listed already. */
  add(chat, newest = false) {
    if (this.entries.has(chat.id)) return false;
    this.empty.hidden = true;
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.chatId = chat.id;
    const name = document.createElement("span");
    const id = document.createElement("span");
    id.className = "chat-id";
    id.textContent = `#${chat.id}`;
    button.append(name, id);
    button.addEventListener("click", () => this.onOpen(chat.id));
    const item = document.createElement("li");
    item.append(button);
    if (newest) this.element.prepend(item);
    else this.element.append(item);
    this.entries.set(chat.id, { chat, button });
    name.textContent = this.label(chat.id);
    return true;
  }

  /**
   * A page of chats. `refresh` re-reads the first page after a reconnect (chat_created may
   * have been missed) without losing the place of "More chats".
   */
  async load(url = "/chats", { refresh = false } = {}) {
    const generation = this.generation;
    const page = await this.session.get(url);
    if (generation !== this.generation) return;
    const added = page.data.filter((chat) => this.add(chat)).map((chat) => chat.id);
    if (added.length) this.onAdded(added);
    if (!refresh) this.next = page.next;
    this.moreButton.hidden = !this.next;
    this.empty.hidden = this.entries.size > 0;
  }

  /** A message arrived in a chat that is not open (the page is in every listed chat's room). */
  markUnread(chatId) {
    const entry = this.entries.get(chatId);
    if (!entry) return;
    entry.button.classList.add("unread");
    entry.button.setAttribute("aria-description", "new messages");
  }

  select(chatId) {
    for (const [id, { button }] of this.entries) {
      if (id === chatId) {
        button.setAttribute("aria-current", "true");
        button.classList.remove("unread");
        button.removeAttribute("aria-description");
      } else {
        button.removeAttribute("aria-current");
      }
    }
  }
}

/** Ids from "alice, 12 bob": numbers are ids, anything else a nickname to look up. */
export function resolveUsers(session, text) {
  const words = text.split(/[\s,]+/).filter(Boolean);
  return Promise.all(words.map(async (word) => {
    if (/^\d+$/.test(word)) return Number(word);
    return (await session.get(`/users/by-nickname/${encodeURIComponent(word)}`)).id;
  }));
}
