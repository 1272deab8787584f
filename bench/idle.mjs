// Many idle authenticated connections: how fast they connect, whether they stay up, and
// (measured by the driver) what each one costs the server in memory.
//
// One Node event loop spends about 1 CPU-ms per connect (socket.io-client, forceNew), so it
// could never show more than about 1,000 connects/s: `spec.loadgenThreads` (default 2) worker
// threads share the connects, each with its own event loop, so the generator is not what caps
// the server's connect rate.
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { closeAll, connectMany, emitLine, now, progress, sleep } from "./clients.mjs";

/** Ask every socket something; any acknowledgement (even an error) proves it is served. */
async function countAnswered(sockets) {
  let answered = 0;
  for (let i = 0; i < sockets.length; i += 500) {
    const batch = sockets.slice(i, i + 500).map((socket) =>
      new Promise((resolve) => {
        socket.timeout(30000).emit("leave_chat", { chatIds: [] }, (err) => {
          if (!err) answered++;
          resolve();
        });
      }));
    await Promise.all(batch);
  }
  return answered;
}

/** A worker: connect its share, report, wait for "check", answer, close. */
async function workerMain() {
  const { url, tokens, concurrency, label } = workerData;
  const connected = await connectMany(url, tokens, { concurrency, label });
  const sockets = connected.sockets.filter(Boolean);
  let disconnects = 0;
  for (const socket of sockets) socket.on("disconnect", () => { disconnects++; });
  parentPort.postMessage({ kind: "connected", connected: sockets.length,
                           errors: connected.errors, seconds: connected.seconds });
  parentPort.once("message", async () => {
    const held = disconnects;
    const answered = await countAnswered(sockets);
    closeAll(sockets);
    parentPort.postMessage({ kind: "checked", answered, disconnects: held });
  });
}

function nextMessage(worker, kind) {
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (message.kind === kind) {
        worker.off("message", onMessage);
        resolve(message);
      }
    };
    worker.on("message", onMessage);
    worker.once("error", reject);
  });
}

/** Connect `spec.connections` sockets, hold them `spec.holdSeconds`, then check each answers. */
export async function runIdle(spec) {
  const tokens = Array.from({ length: spec.connections }, (_, i) => spec.users[i % spec.users.length].token);
  const threads = Math.max(1, Math.min(spec.loadgenThreads ?? 2, tokens.length));
  const concurrency = Math.ceil((spec.connectConcurrency ?? 200) / threads);
  emitLine({ event: "start" });
  const cpuStart = process.cpuUsage();
  const started = now();
  const workers = Array.from({ length: threads }, (_, t) => new Worker(new URL(import.meta.url), {
    workerData: { url: spec.url, tokens: tokens.filter((_, i) => i % threads === t),
                  concurrency, label: `idle[${t}]: ` },
  }));
  const reports = await Promise.all(workers.map((worker) => nextMessage(worker, "connected")));
  const seconds = (now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const connectedCount = reports.reduce((sum, r) => sum + r.connected, 0);
  const errors = reports.flatMap((r) => r.errors);
  const rate = tokens.length / seconds;
  progress(`${connectedCount} connected at ${rate.toFixed(0)}/s by ${threads} threads; holding ${spec.holdSeconds} s`);
  emitLine({ event: "connected", connected: connectedCount });
  await sleep(spec.holdSeconds * 1000);
  emitLine({ event: "held" });
  const checks = await Promise.all(workers.map((worker) => {
    const checked = nextMessage(worker, "checked");
    worker.postMessage("check");
    return checked;
  }));
  emitLine({ event: "end" });
  await Promise.all(workers.map((worker) => worker.terminate()));
  return {
    connections: spec.connections,
    connected: connectedCount,
    connectErrors: errors.length,
    firstConnectError: errors[0] ?? null,
    connectSeconds: Math.round(seconds * 1000) / 1000,
    connectRate: Math.round(rate),
    // The generator's own CPU while connecting (all its threads): when it nears
    // `loadgenThreads` x 1 s per second, the generator is what caps the rate.
    loadgenThreads: threads,
    loadgenCpuSeconds: Math.round((cpu.user + cpu.system) / 1000) / 1000,
    loadgenCpuMillisPerConnect: Math.round((cpu.user + cpu.system) / tokens.length) / 1000,
    disconnectsWhileHeld: checks.reduce((sum, c) => sum + c.disconnects, 0),
    answeredAfterHold: checks.reduce((sum, c) => sum + c.answered, 0),
    holdSeconds: spec.holdSeconds,
  };
}

if (!isMainThread) await workerMain();
