// Sending the user's messages: `send_message` with a clientMessageId and an acknowledgement;
// a retry reuses the clientMessageId, so the server can never store a message twice.

import { request } from "./live.js";
import { newClientMessageId } from "./messages.js";

export class Outbox {
  /**
   * `socket()` is the page's socket (or null); `onSaved(open, message, latest)` runs with each
   * acknowledged message (`latest`: the answer to the newest attempt).
   */
  constructor({ socket, onSaved }) {
    this.socket = socket;
    this.onSaved = onSaved;
  }

  get connected() { return Boolean(this.socket()?.connected); }

  /**
   * A new message of `me` in the open chat (`replyTo`: the quote of the message it answers);
   * while disconnected it waits for the reconnect.
   */
  submit(open, text, me, replyTo = null) {
    const pending = open.list.addPending(newClientMessageId(), text, me, replyTo);
    if (this.connected) this.send(open, pending);
  }

  send(open, pending) {
    const payload = { chatId: open.id, message: pending.text, clientMessageId: pending.clientId };
    if (pending.replyTo) payload.replyToId = pending.replyTo.id;
    const current = open.list.begin(pending);
    request(this.socket(), "send_message", payload)
      .then((message) => {
        const latest = current(); // read first: confirming forgets the pending entry
        open.list.confirm(pending.clientId, message);
        this.onSaved(open, message, latest);
      })
      .catch((error) => { if (current()) open.list.fail(pending.clientId, error.message); });
  }

  retry(open, clientId) {
    const pending = open?.list.retry(clientId);
    if (pending && this.connected) this.send(open, pending);
  }
}
