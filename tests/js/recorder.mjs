// A socket.io-client socket on /chats that queues every event it receives, per event name.
import { io } from "socket.io-client";

export class Recorder {
  /** `options` go to `io()` as well, e.g. an `agent` bound to a source address. */
  constructor(url, token, transport, options = {}) {
    this.queues = new Map();
    this.waiters = new Map();
    this.socket = io(`${url}/chats`, {
      auth: { token },
      transports: [transport],
      reconnection: false,
      forceNew: true,
      ...options,
    });
    this.socket.onAny((event, payload) => this.#push(event, payload));
  }

  #push(event, payload) {
    const waiting = this.waiters.get(event);
    if (waiting?.length) {
      waiting.shift()(payload);
      return;
    }
    if (!this.queues.has(event)) this.queues.set(event, []);
    this.queues.get(event).push(payload);
  }

  connected() {
    return new Promise((ok, fail) => {
      this.socket.once("connect", ok);
      this.socket.once("connect_error", fail);
    });
  }

  /** The next `event` received, in arrival order. */
  next(event) {
    const queued = this.queues.get(event);
    if (queued?.length) return Promise.resolve(queued.shift());
    return new Promise((ok) => {
      if (!this.waiters.has(event)) this.waiters.set(event, []);
      this.waiters.get(event).push(ok);
    });
  }

  backlog(event) {
    return this.queues.get(event)?.length ?? 0;
  }

  call(event, payload) {
    return this.socket.timeout(20_000).emitWithAck(event, payload);
  }

  close() {
    this.socket.disconnect();
  }
}
