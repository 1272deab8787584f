// Many idle authenticated connections: how fast they connect, whether they stay up, and
// (measured by the driver) what each one costs the server in memory.
import { closeAll, connectMany, emitLine, progress, request, sleep } from "./clients.mjs";

/** Connect `spec.connections` sockets, hold them `spec.holdSeconds`, then check each answers. */
export async function runIdle(spec) {
  const tokens = Array.from({ length: spec.connections }, (_, i) => spec.users[i % spec.users.length].token);
  emitLine({ event: "start" });
  const connected = await connectMany(spec.url, tokens, {
    concurrency: spec.connectConcurrency ?? 200, label: "idle: ",
  });
  const sockets = connected.sockets.filter(Boolean);
  let disconnects = 0;
  for (const socket of sockets) socket.on("disconnect", () => { disconnects++; });
  progress(`${sockets.length} connected at ${connected.rate.toFixed(0)}/s; holding ${spec.holdSeconds} s`);
  emitLine({ event: "connected", connected: sockets.length });
  await sleep(spec.holdSeconds * 1000);
  emitLine({ event: "held" });
  // Any acknowledgement (even an error) proves the server still serves that connection.
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
  const disconnectsWhileHeld = disconnects;
  emitLine({ event: "end" });
  closeAll(sockets);
  return {
    connections: spec.connections,
    connected: sockets.length,
    connectErrors: connected.errors.length,
    firstConnectError: connected.errors[0] ?? null,
    connectSeconds: Math.round(connected.seconds * 1000) / 1000,
    connectRate: Math.round(connected.rate),
    disconnectsWhileHeld,
    answeredAfterHold: answered,
    holdSeconds: spec.holdSeconds,
  };
}
