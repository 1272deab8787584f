// "alice is typing…": the user's own typing goes out as `typing {chatId, typing}` (at most one
// `true` per THROTTLE_MS while they type, `false` when the box empties, the message is sent or
// another chat opens); the others' `typing` events show under the messages of the open chat,
// and each one goes away with its `typing: false`, its author's next message, or EXPIRY_MS
// without a renewal (the server that relayed it may be gone).

// The server's PIPECHAT_TYPING_THROTTLE_SECONDS (2 s): renewals closer than that are not relayed.
const THROTTLE_MS = 2000;
// The server's PIPECHAT_TYPING_TIMEOUT_SECONDS (6 s).
const EXPIRY_MS = 6000;

export class Typing {
  /**
   * `line` is the element that says who types; `view`: {socket(), openId(), chats
   * (ChatList), myId()}.
   */
  constructor(line, view) {
    this.line = line;
    this.view = view;
    this.others = new Map(); // chatId -> Map(userId -> expiry timer)
    this.sent = null; // {chatId, at}: the last `typing: true` this page sent, until stopped
  }

  /** The box changed: typing while it holds text, stopped when it is empty. */
  input(text) {
    const chatId = this.view.openId();
    if (!chatId || !text.trim()) {
      this.stop();
      return;
    }
    const now = Date.now();
    if (this.sent?.chatId === chatId && now - this.sent.at < THROTTLE_MS) return;
    if (this.sent && this.sent.chatId !== chatId) this.stop();
    if (this.emit(chatId, true)) this.sent = { chatId, at: now };
  }

  /** The message was sent, the box emptied, or another chat opened. */
  stop() {
    if (!this.sent) return;
    this.emit(this.sent.chatId, false);
    this.sent = null;
  }

  emit(chatId, typing) {
    const socket = this.view.socket();
    if (!socket?.connected) return false;
    // A hint: its answer (or refusal) changes nothing on the page.
    socket.emit("typing", { chatId, typing }, () => {});
    return true;
  }

  /** The message was sent: the server ends the user's typing itself. */
  saved() { this.sent = null; }

  /** `typing {chatId, userId, typing}` from the server. */
  heard({ chatId, userId, typing }) {
    if (userId === this.view.myId()) return; // another tab of mine
    const users = this.others.get(chatId) ?? new Map();
    clearTimeout(users.get(userId));
    users.delete(userId);
    if (typing) users.set(userId, setTimeout(() => this.heard({ chatId, userId }), EXPIRY_MS));
    if (users.size) this.others.set(chatId, users);
    else this.others.delete(chatId);
    if (chatId === this.view.openId()) this.show();
  }

  /** A message from `userId` ends their typing. */
  sentMessage(chatId, userId) {
    if (this.others.get(chatId)?.has(userId)) this.heard({ chatId, userId, typing: false });
  }

  /** The socket is gone: no indicator can be trusted, and the server stops mine. */
  reset() {
    for (const users of this.others.values()) users.forEach((timer) => clearTimeout(timer));
    this.others.clear();
    this.sent = null;
    this.show();
  }

  /** The line for the open chat. */
  show() {
    const chatId = this.view.openId();
    const users = this.view.chats.chat(chatId)?.users ?? [];
    const names = [...(this.others.get(chatId)?.keys() ?? [])]
      .map((id) => users.find((user) => user.id === id)?.nickname ?? `user ${id}`);
    this.line.textContent = names.length === 0 ? ""
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length === 2 ? `${names[0]} and ${names[1]} are typing…`
          : `${names.length} people are typing…`;
    this.line.hidden = names.length === 0;
  }
}
