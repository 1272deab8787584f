// Connecting many socket.io-client v4 sockets, and small helpers shared by the workloads.
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

export const now = () => performance.now();

/** One line on stdout for the driver (events and the final result). */
export function emitLine(object) {
  process.stdout.write(JSON.stringify(object) + "\n");
}

/** A progress line on stderr for the human watching. */
export function progress(text) {
  process.stderr.write(`  [loadgen] ${text}\n`);
}

/** Open one authenticated socket on namespace /chats; resolves once connected. */
export function connectOne(url, token, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/chats`, {
      auth: { token },
      transports: ["websocket"],
      // Every client gets its own engine.io connection, as separate users would.
      forceNew: true,
      reconnection: false,
      timeout: timeoutMs,
    });
    const fail = (err) => {
      socket.close();
      reject(new Error(`connect_error: ${err?.message ?? err} ${JSON.stringify(err?.data ?? null)}`));
    };
    socket.once("connect", () => {
      socket.off("connect_error", fail);
      resolve(socket);
    });
    socket.once("connect_error", fail);
  });
}

/**
 * Connect `tokens.length` sockets with at most `concurrency` handshakes in flight. `url` is
 * one server or a list: socket i goes to url[i % length], so several processes share them.
 */
export async function connectMany(url, tokens, { concurrency = 100, timeoutMs = 30000, label = "" } = {}) {
  const urls = Array.isArray(url) ? url : [url];
  const sockets = new Array(tokens.length);
  const errors = [];
  let next = 0;
  let done = 0;
  const started = now();
  let lastReport = started;
  async function worker() {
    while (next < tokens.length) {
      const index = next++;
      try {
        sockets[index] = await connectOne(urls[index % urls.length], tokens[index], timeoutMs);
      } catch (err) {
        errors.push(String(err.message ?? err));
      }
      done++;
      if (now() - lastReport > 1000) {
        lastReport = now();
        progress(`${label}connected ${done}/${tokens.length}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tokens.length) }, worker));
  const seconds = (now() - started) / 1000;
  const perUrl = urls.map((_, u) => sockets.filter((s, i) => s && i % urls.length === u).length);
  return { sockets, errors, seconds, rate: tokens.length / seconds, perUrl };
}

/** Emit with an acknowledgement; rejects after `timeoutMs`. */
export function request(socket, event, payload, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, response) => {
      if (err) reject(new Error(`${event}: no acknowledgement within ${timeoutMs} ms`));
      else if (response?.status !== "ok") reject(new Error(`${event}: ${JSON.stringify(response)}`));
      else resolve(response.data);
    });
  });
}

/** p50/p90/p99/max/mean of a list of milliseconds, rounded to 0.01 ms. */
export function summarize(values) {
  if (values.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null, mean: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const round = (v) => Math.round(v * 100) / 100;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(sum / sorted.length),
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Close every socket (undefined entries are failed connects). */
export function closeAll(sockets) {
  for (const socket of sockets) socket?.close();
}
