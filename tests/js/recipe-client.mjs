// A socket.io-client that follows the README's reconnect recipe ("Delivery guarantee and
// reconnecting"): it reconnects by itself; on every connect it enters its chats, then catches
// up over REST from the newest id up to which it has everything; a `previousId` that does not
// match reveals a gap, filled the same way; a send without an `ok` ack is re-sent with its
// original clientMessageId.
import { io } from "socket.io-client";

const ACK_TIMEOUT_MS = 5_000;
const RETRY_MS = 100;
const PAGE = 20; // small, so catching up follows `next` links
const RETRYABLE = 150; // the database or the server cannot take it right now

const sleep = (ms) => new Promise((wake) => setTimeout(wake, ms));

/** Every message of a chat after id `after`, following `next` links, as the README says. */
export async function messagesAfter(url, token, chatId, after) {
  const messages = [];
  let next = `${url}/chats/${chatId}/messages?where__id__more_than=${after}&take=${PAGE}`;
  while (next) {
    const response = await fetch(next, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`catch-up: ${response.status} ${await response.text()}`);
    const page = await response.json();
    messages.push(...page.data);
    next = page.next;
  }
  return messages;
}

export class RecipeClient {
  /** `user` from registerUser; `options` go to `io()`, e.g. an `agent`. */
  constructor(url, user, chatIds, transport, options = {}) {
    this.url = url;
    this.user = user;
    this.chats = new Map(chatIds.map((id) => [id, { last: 0, messages: new Map() }]));
    this.acked = new Map(); // clientMessageId -> {id, chatId, connect}
    this.live = new Set(); // ids that arrived as receive_message
    this.connects = 0;
    this.resent = 0; // sends without an answer or refused with 150, then sent again
    this.failures = [];
    this.ready = false;
    this.readyWaiters = [];
    this.socket = io(`${url}/chats`, {
      auth: { token: user.accessToken },
      transports: [transport],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1_000,
      ...options,
    });
    this.socket.on("connect", () => this.#resume().catch((error) => this.failures.push(error)));
    this.socket.on("disconnect", () => {
      this.ready = false;
    });
    this.socket.on("receive_message", (message) => {
      this.live.add(message.id);
      this.#take(message);
    });
  }

  /** Resolves once connected, in its chats' rooms and caught up. */
  whenReady() {
    if (this.ready) return Promise.resolve();
    return new Promise((ok) => this.readyWaiters.push(ok));
  }

  /** Send until acknowledged `ok`; returns the saved message. */
  async send(chatId, text, clientMessageId) {
    for (;;) {
      await this.whenReady();
      let ack;
      try {
        ack = await this.socket.timeout(ACK_TIMEOUT_MS)
          .emitWithAck("send_message", { chatId, message: text, clientMessageId });
      } catch {
        this.resent += 1; // timed out or disconnected: unknown, so send the same id again
        continue;
      }
      if (ack.status === "ok") {
        this.acked.set(clientMessageId, { id: ack.data.id, chatId, connect: this.connects });
        this.#take(ack.data);
        return ack.data;
      }
      if (ack.code !== RETRYABLE) throw new Error(`send_message: ${JSON.stringify(ack)}`);
      this.resent += 1;
      await sleep(RETRY_MS);
    }
  }

  /** Fetch every message of `chatId` after the newest id up to which this client has all. */
  async catchUp(chatId) {
    const chat = this.chats.get(chatId);
    for (const message of await messagesAfter(this.url, this.user.accessToken, chatId, chat.last)) {
      chat.messages.set(message.id, message);
      chat.last = Math.max(chat.last, message.id);
    }
  }

  close() {
    this.socket.disconnect();
  }

  async #resume() {
    const connect = ++this.connects;
    const current = () => connect === this.connects && this.socket.connected;
    for (;;) {
      try {
        const chatIds = [...this.chats.keys()];
        const entered = await this.socket.timeout(ACK_TIMEOUT_MS)
          .emitWithAck("enter_chat", { chatIds });
        if (entered.status !== "ok" && entered.code !== RETRYABLE) {
          throw new Error(`enter_chat: ${JSON.stringify(entered)}`);
        }
        if (entered.status === "ok") {
          // Entered first, then fetched: nothing committed after the fetch can be missed.
          for (const chatId of chatIds) await this.catchUp(chatId);
          break;
        }
      } catch (error) {
        if (error.message.startsWith("enter_chat")) throw error;
        // A timeout, a lost connection or a refused fetch: try again while still connected.
      }
      if (!current()) return;
      await sleep(RETRY_MS);
    }
    if (!current()) return;
    this.ready = true;
    for (const wake of this.readyWaiters.splice(0)) wake();
  }

  #take(message) {
    const chat = this.chats.get(message.chatId);
    chat.messages.set(message.id, message);
    if ((message.previousId ?? 0) === chat.last) {
      chat.last = message.id;
    } else if (message.id > chat.last) {
      // A gap: fill it from history. A failure here is repaired by the next connect.
      this.catchUp(message.chatId).catch(() => {});
    }
  }
}
