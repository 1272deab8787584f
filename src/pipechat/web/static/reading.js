// Read markers: while the user sees the open chat, their marker follows its newest message
// (`mark_read` on the socket, POST /chats/{cid}/read without one); the badge clears at once.

import { request } from "./live.js";

export class Reader {
  /**
   * `socket()` is the page's socket (or null); `onMarked(chatId, lastReadMessageId)` runs with
   * the server's answer, `onError(error)` when it refuses.
   */
  constructor(chats, session, { socket, onMarked, onError }) {
    this.chats = chats;
    this.session = session;
    this.socket = socket;
    this.onMarked = onMarked;
    this.onError = onError;
  }

  /** Whether the user sees the open chat: not the list on a phone, not a hidden tab. */
  static viewing(open) {
    return Boolean(open) && document.visibilityState === "visible" &&
      (document.getElementById("chat-view").dataset.pane === "chat" ||
        matchMedia("(min-width: 720px)").matches);
  }

  /** Move my marker to the newest message of the open chat, if the user sees it. */
  mark(open) {
    const chat = this.chats.chat(open?.id);
    const newest = open?.list.newestId ?? 0;
    if (!chat || !Reader.viewing(open) ||
        newest <= Math.max(chat.lastReadMessageId ?? 0, open.marking ?? 0)) return;
    open.marking = newest;
    this.chats.update(open.id, () => ({ unreadCount: 0 }));
    const socket = this.socket();
    const done = socket?.connected
      ? request(socket, "mark_read", { chatId: open.id, messageId: newest })
      : this.session.request("POST", `/chats/${open.id}/read`, { messageId: newest });
    done.then((marker) => this.onMarked(open.id, marker.lastReadMessageId))
      .catch((error) => { open.marking = 0; this.onError(error); });
  }
}
