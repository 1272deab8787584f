// The message list of the open chat: saved messages in id order, then the caller's own
// messages still waiting for their acknowledgement. Every text goes in with textContent.

function part(tag, className, text) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = text;
  return element;
}

function timeLabel(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export class MessageList {
  /** `onRetry(clientId)` runs when the user retries a failed message. */
  constructor(element, myId, onRetry) {
    element.replaceChildren();
    this.element = element;
    this.scroller = element.parentElement;
    this.myId = myId;
    this.onRetry = onRetry;
    this.byId = new Map();
    this.pending = new Map(); // clientMessageId -> {clientId, text, item, attempt, state}
    // Newest id up to which this list has every message of the chat (see `follow`).
    this.contiguousId = 0;
  }

  /** Note a live message (or own ack): false when its `previousId` shows a gap before it. */
  follow(message) {
    if ((message.previousId ?? 0) === this.contiguousId) this.contiguousId = message.id;
    return message.id <= this.contiguousId;
  }

  /** Messages from a complete history read (newest page or catch-up) close any gap. */
  complete(messages) {
    for (const message of messages) this.contiguousId = Math.max(this.contiguousId, message.id);
  }

  render(author, text, createdAt) {
    const item = document.createElement("li");
    item.className = author.id === this.myId ? "msg mine" : "msg";
    const meta = document.createElement("div");
    meta.className = "meta";
    const time = part("time", "time", timeLabel(createdAt));
    if (createdAt) time.dateTime = createdAt;
    meta.append(part("span", "author", author.nickname), time, part("span", "status", ""));
    item.append(meta, part("p", "text", text));
    return item;
  }

  setStatus(item, status, text) {
    item.dataset.status = status;
    item.querySelector(".status").textContent = text;
  }

  /** Place a saved message by id, before any pending ones. */
  insert(item, id) {
    item.remove(); // a confirmed pending item moves to its place among the saved ones
    item.dataset.id = id;
    let after = this.element.lastElementChild;
    while (after && (!after.dataset.id || Number(after.dataset.id) > id)) {
      after = after.previousElementSibling;
    }
    if (after) after.after(item);
    else this.element.prepend(item);
    this.byId.set(id, item);
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd() { this.scroller.scrollTop = this.scroller.scrollHeight; }

  /** A live or caught-up message; duplicates are ignored, own pending ones confirmed. */
  add(message) {
    if (this.byId.has(message.id)) return;
    if (message.author.id === this.myId && this.pending.has(message.clientMessageId)) {
      this.confirm(message.clientMessageId, message);
      return;
    }
    const stick = this.nearEnd();
    this.insert(this.render(message.author, message.message, message.createdAt), message.id);
    if (stick) this.scrollToEnd();
  }

  /** A history page, any order; the view keeps showing what it showed. */
  addOlder(messages) {
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    for (const message of messages) {
      if (this.byId.has(message.id)) continue;
      this.insert(this.render(message.author, message.message, message.createdAt), message.id);
      if (message.author.id === this.myId) this.setStatus(this.byId.get(message.id), "sent", "");
    }
    this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
  }

  addPending(clientId, text, me) {
    const item = this.render(me, text, "");
    item.dataset.clientId = clientId;
    this.setStatus(item, "pending", "sending…");
    this.element.append(item);
    this.scrollToEnd();
    const entry = { clientId, text, item, attempt: 0, state: "waiting" };
    this.pending.set(clientId, entry);
    return entry;
  }

  /** The ack (or history) has the saved message: show it as sent, in its place. */
  confirm(clientId, message) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    this.pending.delete(clientId);
    if (this.byId.has(message.id)) {
      entry.item.remove();
      return;
    }
    const time = entry.item.querySelector("time");
    time.textContent = timeLabel(message.createdAt);
    time.dateTime = message.createdAt;
    this.setStatus(entry.item, "sent", "sent");
    entry.item.querySelector(".retry")?.remove();
    this.insert(entry.item, message.id);
  }

  fail(clientId, text) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    entry.state = "error";
    this.setStatus(entry.item, "error", `not sent: ${text}`);
    if (entry.item.querySelector(".retry")) return;
    const retry = part("button", "retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => this.onRetry(clientId));
    entry.item.append(retry);
  }

  /** Back to pending for another attempt; returns the entry. */
  retry(clientId) {
    const entry = this.pending.get(clientId);
    if (!entry) return null;
    entry.state = "waiting";
    entry.item.querySelector(".retry")?.remove();
    this.setStatus(entry.item, "pending", "sending…");
    return entry;
  }

  /** Start an attempt; the returned check tells whether an answer is still the latest one. */
  begin(entry) {
    entry.attempt += 1;
    entry.state = "inflight";
    const attempt = entry.attempt;
    return () => this.pending.get(entry.clientId) === entry && entry.attempt === attempt;
  }

  /** After a reconnect: send what never went out or lost its acknowledgement. */
  resendUnconfirmed(send) {
    for (const entry of this.pending.values()) {
      if (entry.state !== "error") send(entry);
    }
  }
}
