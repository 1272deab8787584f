// The chat list: first page from GET /chats, more pages by following `next`, live additions.

export class ChatList {
  /** `onOpen(chatId)` runs when the user picks a chat; `onError` gets failed loads. */
  constructor(element, moreButton, session, { onOpen, onError }) {
    this.element = element;
    this.moreButton = moreButton;
    this.session = session;
    this.onOpen = onOpen;
    this.myId = null;
    this.entries = new Map(); // chat id -> {chat, button}
    this.next = null;
    moreButton.addEventListener("click", () => this.load(this.next).catch(onError));
  }

  reset(myId) {
    this.myId = myId;
    this.entries.clear();
    this.next = null;
    this.element.replaceChildren();
    this.moreButton.hidden = true;
  }

  has(chatId) { return this.entries.has(chatId); }

  /** The other members' nicknames. */
  label(chatId) {
    const chat = this.entries.get(chatId)?.chat;
    if (!chat) return `#${chatId}`;
    const others = chat.users.filter((user) => user.id !== this.myId);
    return others.length ? others.map((user) => user.nickname).join(", ") : "just you";
  }

  add(chat, newest = false) {
    if (this.entries.has(chat.id)) return;
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
  }

  /**
   * A page of chats. `refresh` re-reads the first page after a reconnect (chat_created may
   * have been missed) without losing the place of "More chats".
   */
  async load(url = "/chats", { refresh = false } = {}) {
    const page = await this.session.get(url);
    page.data.forEach((chat) => this.add(chat));
    if (!refresh) this.next = page.next;
    this.moreButton.hidden = !this.next;
  }

  markUnread(chatId) { this.entries.get(chatId)?.button.classList.add("unread"); }

  select(chatId) {
    for (const [id, { button }] of this.entries) {
      if (id === chatId) {
        button.setAttribute("aria-current", "true");
        button.classList.remove("unread");
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
