// The chat list: the server's order by activity (GET /chats?sort=activity, more pages by
// following `next`), each chat with its name, kind and unread count; a chat with new activity
// moves to the top, as the server would rank it. Text goes in with textContent only.

const LIST_URL = "/chats?sort=activity&take=20";

function span(className) {
  const element = document.createElement("span");
  element.className = className;
  return element;
}

/** What a chat is called: a group's name, a direct chat's other member. */
export function chatName(chat, myId) {
  if (chat.kind === "group" && chat.name) return chat.name;
  const others = chat.users.filter((user) => user.id !== myId);
  return others.length ? others.map((user) => user.nickname).join(", ") : "just you";
}

export class ChatList {
  /**
   * `onOpen(chatId)` runs when the user picks a chat, `onAdded(chatIds)` when chats join the
   * list; `onError` gets failed loads. `empty` is shown while the list has no chat.
   */
  constructor(element, moreButton, empty, session, { onOpen, onAdded, onError }) {
    this.element = element;
    this.moreButton = moreButton;
    this.empty = empty;
    this.session = session;
    this.onOpen = onOpen;
    this.onAdded = onAdded;
    this.myId = null;
    this.entries = new Map(); // chat id -> {chat, button, item}
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

  chat(chatId) { return this.entries.get(chatId)?.chat ?? null; }

  label(chatId) {
    const chat = this.chat(chatId);
    return chat ? chatName(chat, this.myId) : `#${chatId}`;
  }

  /**
   * Show a chat or refresh it. Fields the event did not carry (a `chat_updated` has no unread
   * count) keep their values. `top` moves it first. True when it was not listed before.
   */
  upsert(chat, { top = false } = {}) {
    const entry = this.entries.get(chat.id);
    if (entry) {
      entry.chat = { ...entry.chat, ...chat };
      this.render(entry);
      if (top) this.element.prepend(entry.item);
      return false;
    }
    this.empty.hidden = true;
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.chatId = chat.id;
    button.append(span("chat-name"), span("chat-kind"), span("badge"));
    button.addEventListener("click", () => this.onOpen(chat.id));
    const item = document.createElement("li");
    item.append(button);
    if (top) this.element.prepend(item);
    else this.element.append(item);
    const added = { chat: { unreadCount: 0, lastReadMessageId: null, ...chat }, button, item };
    this.entries.set(chat.id, added);
    this.render(added);
    return true;
  }

  render({ chat, button }) {
    button.querySelector(".chat-name").textContent = chatName(chat, this.myId);
    button.querySelector(".chat-kind").textContent = chat.kind === "direct" ? "direct" : "group";
    button.dataset.kind = chat.kind;
    const unread = chat.unreadCount ?? 0;
    button.querySelector(".badge").textContent = unread ? String(unread) : "";
    button.classList.toggle("unread", unread > 0);
    if (unread) button.setAttribute("aria-description", `${unread} unread`);
    else button.removeAttribute("aria-description");
  }

  /** Change a listed chat's fields (`change(chat)` returns the new ones) and show it. */
  update(chatId, change, options) {
    const chat = this.chat(chatId);
    if (chat) this.upsert({ ...change(chat), id: chatId }, options);
  }

  /** Take a chat off the list (the user left it, or was removed). */
  remove(chatId) {
    this.entries.get(chatId)?.item.remove();
    this.entries.delete(chatId);
    this.empty.hidden = this.entries.size > 0;
  }

  /** A new message: the chat goes to the top, and counts as unread unless `seen`. */
  noteMessage(message, seen) {
    this.update(message.chatId, (chat) => ({
      lastMessage: message,
      unreadCount: seen || message.author.id === this.myId
        ? chat.unreadCount : (chat.unreadCount ?? 0) + 1,
    }), { top: true });
  }

  /** My read marker moved (here, or in another tab): fewer or no unread messages. */
  noteRead(chatId, lastReadMessageId, unreadCount) {
    this.update(chatId, (chat) => ({
      lastReadMessageId: Math.max(chat.lastReadMessageId ?? 0, lastReadMessageId),
      unreadCount: unreadCount ?? (lastReadMessageId >= (chat.lastMessage?.id ?? 0)
        ? 0 : chat.unreadCount),
    }));
  }

  /** A page of chats, in the server's order by activity, after those listed. */
  async load(url = LIST_URL) {
    const generation = this.generation;
    const page = await this.session.get(url);
    if (generation !== this.generation) return;
    const added = page.data.filter((chat) => this.upsert(chat)).map((chat) => chat.id);
    if (added.length) this.onAdded(added);
    this.next = page.next;
    this.moreButton.hidden = !this.next;
    this.empty.hidden = this.entries.size > 0;
  }

  select(chatId) {
    for (const [id, { button }] of this.entries) {
      if (id === chatId) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
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
