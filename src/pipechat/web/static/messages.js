// The message list of the open chat, in send order: saved messages by id, and the caller's
// own messages still waiting for (or refused by) the server where they were sent, with a day
// separator above each day's first message. Every text goes in with textContent. Edits,
// deletions and reactions are applied to the messages held here by amend.js.

import { body, button, part } from "./bubble.js";
import { dayKey, dayLabel, timeLabel } from "./time.js";

/** A fresh `clientMessageId`: retries of one message reuse it, so it is never stored twice. */
export function newClientMessageId() {
  // getRandomValues works on plain http too, where crypto.randomUUID does not exist.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export class MessageList {
  /**
   * `onRetry(clientId)` and `onEdit(text)` run when the user acts on a failed message; `act`
   * ({reply(message), edit(message), remove(message), react(messageId, emoji, on)}) on a saved one.
   */
  constructor(element, myId, { onRetry, onEdit, act }) {
    element.replaceChildren();
    this.element = element;
    this.scroller = element.parentElement;
    this.myId = myId;
    this.onRetry = onRetry;
    this.onEdit = onEdit;
    this.act = { ...act, jump: (id) => this.byId.get(id)?.scrollIntoView({ block: "center" }) };
    this.byId = new Map();
    this.data = new Map(); // id -> the saved message as shown (amend.js keeps it current)
    this.versions = new Map(); // see amend.js
    this.pending = new Map(); // clientMessageId -> {clientId, text, item, attempt, state}
    this.newestId = 0; // the largest id shown: an own message sent now comes after it
    // Newest id up to which this list has every message of the chat (see `follow`).
    this.contiguousId = 0;
    this.closed = false;
  }

  /** Another chat (or user) takes the view: late answers must not touch it. */
  close() {
    this.closed = true;
    this.pending.clear();
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

  /** A message's item: a saved message, or an own one not saved yet (no id). */
  render(message) {
    const { author, createdAt } = message;
    const item = document.createElement("li");
    item.className = author.id === this.myId ? "msg mine" : "msg";
    const meta = document.createElement("div");
    meta.className = "meta";
    const time = part("time", "time", timeLabel(createdAt));
    if (createdAt) time.dateTime = createdAt;
    meta.append(part("span", "author", author.nickname), time, part("span", "edited", ""),
      part("span", "status", ""));
    item.append(meta, body(message, false, null));
    if (message.id) this.keep(item, message);
    return item;
  }

  /** A saved message's data and body (again after an edit, a deletion, a reaction). */
  keep(item, message) {
    this.data.set(message.id, message);
    const edited = item.querySelector(".edited");
    edited.textContent = message.editedAt && !message.deletedAt ? "edited" : "";
    if (message.editedAt) edited.title = message.editedAt;
    item.dataset.deleted = String(Boolean(message.deletedAt));
    item.querySelector(".body").replaceWith(
      body(message, message.author.id === this.myId, this.act));
  }

  /** Show the message `id` as `data` holds it now. */
  refresh(id) {
    const item = this.byId.get(id);
    if (item) this.keep(item, this.data.get(id));
  }

  setStatus(item, status, text) {
    item.dataset.status = status;
    item.querySelector(".status").textContent = text;
  }

  /** Whether `other` stays above the saved message `id`. */
  static above(other, id) {
    if (other.dataset.id) return Number(other.dataset.id) < id;
    // An own unsaved message was sent after every message up to its `after` id.
    if (other.dataset.after) return Number(other.dataset.after) < id;
    return false; // a day separator: they are laid out afresh after every change
  }

  /** Place a saved message by id, and after own messages sent before it arrived. */
  insert(item, id) {
    item.remove(); // a confirmed pending item moves to its place among the saved ones
    item.dataset.id = id;
    delete item.dataset.after;
    let after = this.element.lastElementChild;
    while (after && !MessageList.above(after, id)) after = after.previousElementSibling;
    if (after) after.after(item);
    else this.element.prepend(item);
    this.byId.set(id, item);
    this.newestId = Math.max(this.newestId, id);
  }

  /** A separator above the first message of each day. */
  markDays() {
    this.element.querySelectorAll("li.day").forEach((separator) => separator.remove());
    let previous = null;
    for (const item of [...this.element.children]) {
      const when = item.querySelector("time")?.dateTime || new Date().toISOString();
      if (dayKey(when) !== previous) item.before(part("li", "day", dayLabel(when)));
      previous = dayKey(when);
    }
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd() { this.scroller.scrollTop = this.scroller.scrollHeight; }

  /** A live or caught-up message; duplicates are ignored, own pending ones confirmed. */
  add(message) {
    if (this.closed || this.byId.has(message.id)) return;
    if (message.author.id === this.myId && this.pending.has(message.clientMessageId)) {
      this.confirm(message.clientMessageId, message);
      return;
    }
    const stick = this.nearEnd();
    this.insert(this.render(message), message.id);
    this.markDays();
    if (stick) this.scrollToEnd();
  }

  /** A history page, any order; the view keeps showing what it showed. */
  addOlder(messages) {
    if (this.closed) return;
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    for (const message of messages) {
      if (this.byId.has(message.id)) continue;
      this.insert(this.render(message), message.id);
      if (message.author.id === this.myId) this.setStatus(this.byId.get(message.id), "sent", "");
    }
    this.markDays();
    this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
  }

  /** An own message on its way (`replyTo`: the quote of the message it answers, or null). */
  addPending(clientId, text, me, replyTo = null) {
    const item = this.render({ author: me, message: text, createdAt: "", replyTo });
    item.dataset.clientId = clientId;
    item.dataset.after = String(this.newestId);
    this.setStatus(item, "pending", "sending…");
    this.element.append(item);
    this.markDays();
    this.scrollToEnd();
    const entry = { clientId, text, replyTo, item, attempt: 0, state: "waiting" };
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
      this.markDays();
      return;
    }
    const time = entry.item.querySelector("time");
    time.textContent = timeLabel(message.createdAt);
    time.dateTime = message.createdAt;
    this.setStatus(entry.item, "sent", "sent");
    entry.item.querySelector(".actions")?.remove();
    this.keep(entry.item, message);
    this.insert(entry.item, message.id);
    this.markDays();
  }

  /** Refused or unanswered: say why, and offer Retry, Edit and Discard. */
  fail(clientId, text) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    entry.state = "error";
    this.setStatus(entry.item, "error", `not sent: ${text}`);
    if (entry.item.querySelector(".actions")) return;
    const actions = document.createElement("div");
    actions.className = "actions";
    actions.append(
      button("Retry", "retry", () => this.onRetry(clientId)),
      button("Edit", "edit", () => { this.discard(clientId); this.onEdit(entry.text); }),
      button("Discard", "discard", () => this.discard(clientId)),
    );
    entry.item.append(actions);
  }

  /** Forget an unsent message (a late ack of it, if any, is ignored; history still shows it). */
  discard(clientId) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    this.pending.delete(clientId);
    entry.item.remove();
    this.markDays();
  }

  /** Back to pending for another attempt; returns the entry. */
  retry(clientId) {
    const entry = this.pending.get(clientId);
    if (!entry) return null;
    entry.state = "waiting";
    entry.item.querySelector(".actions")?.remove();
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
