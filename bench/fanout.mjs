// Rooms of members, some of whom send: closed loop (k in flight per sender) or open loop
// (a fixed total rate). Every delivery is matched to its send by clientMessageId.
import { closeAll, connectMany, emitLine, now, progress, request, sleep, summarize } from "./clients.mjs";

class Tracker {
  constructor(roomSizes) {
    this.roomSizes = roomSizes;
    this.records = new Map(); // clientMessageId -> {t0, room, sender, text, ok}
    this.issued = 0;
    this.acksDone = 0;
    this.ackOk = 0;
    this.ackErrors = {};
    this.ackTimeouts = 0;
    this.expected = 0;
    this.received = 0;
    this.receivedOk = 0;
    this.duplicates = 0;
    this.unexpected = 0;
    this.echoes = 0;
    this.reordered = 0;
    this.corrupted = 0;
    this.ackLatency = [];
    this.receiveLatency = [];
    this.lastAck = 0;
    this.lastReceive = 0;
    this.ids = new Set();
    this.duplicateIds = 0;
  }

  sent(cmid, record) {
    this.issued++;
    this.records.set(cmid, record);
  }

  acked(cmid, err, response) {
    const record = this.records.get(cmid);
    const t = now();
    this.acksDone++;
    this.lastAck = t;
    if (err) {
      this.ackTimeouts++;
      return;
    }
    if (response?.status !== "ok" || response.data?.clientMessageId !== cmid) {
      const code = response?.code ?? "malformed";
      this.ackErrors[code] = (this.ackErrors[code] ?? 0) + 1;
      return;
    }
    if (this.ids.has(response.data.id)) this.duplicateIds++;
    this.ids.add(response.data.id);
    record.ok = true;
    this.ackOk++;
    this.expected += this.roomSizes[record.room] - 1;
    this.ackLatency.push(t - record.t0);
  }

  delivered(member, message) {
    const t = now();
    const record = this.records.get(message?.clientMessageId);
    if (record === undefined || record.room !== member.room) {
      this.unexpected++;
      return;
    }
    if (record.sender === member.index) {
      this.echoes++;
      return;
    }
    if (member.seen.has(message.clientMessageId)) {
      this.duplicates++;
      return;
    }
    member.seen.add(message.clientMessageId);
    // Out of order: not above the highest id this member already has (cross-process delivery
    // can overtake; one process delivers a room in id order).
    if (message.id <= member.maxId) this.reordered++;
    else member.maxId = message.id;
    if (message.message !== record.text) this.corrupted++;
    this.received++;
    if (record.ok !== false) this.receivedOk++;
    this.lastReceive = t;
    this.receiveLatency.push(t - record.t0);
  }
}

function textFor(cmid, length) {
  const base = `bench ${cmid} `;
  return base.length >= length ? base : base + "x".repeat(length - base.length);
}

function makeSender(tracker, spec) {
  return (sender, seq, t0, onDone) => {
    const cmid = `${sender.index}-${seq}`;
    const text = textFor(cmid, spec.textLength ?? 40);
    tracker.sent(cmid, { t0, room: sender.room, sender: sender.index, text, ok: undefined });
    sender.socket.timeout(spec.ackTimeoutMs ?? 30000).emit(
      "send_message",
      { chatId: sender.chatId, message: text, clientMessageId: cmid },
      (err, response) => {
        tracker.acked(cmid, err, response);
        onDone();
      },
    );
  };
}

function closedLoop(senders, send, perSender, inFlight) {
  return Promise.all(senders.map((sender) => new Promise((resolve) => {
    let issued = 0;
    let completed = 0;
    const next = () => {
      if (issued >= perSender) return;
      send(sender, issued++, now(), () => {
        if (++completed === perSender) resolve();
        else next();
      });
    };
    for (let i = 0; i < Math.min(inFlight, perSender); i++) next();
  })));
}

function openLoop(senders, send, rate, seconds) {
  // Latency counts from the scheduled time, so a stalled generator or server cannot hide
  // its backlog (no coordinated omission).
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const seqs = new Array(senders.length).fill(0);
  let completed = 0;
  let g = 0;
  return new Promise((resolve) => {
    const done = () => { if (++completed === total) resolve(); };
    const start = now();
    const tick = () => {
      const t = now();
      while (g < total && start + g * interval <= t) {
        const which = g % senders.length;
        send(senders[which], seqs[which]++, start + g * interval, done);
        g++;
      }
      if (g < total) setTimeout(tick, 1);
    };
    tick();
  });
}

async function setUp(spec) {
  const members = [];
  spec.rooms.forEach((room, r) => room.members.forEach((user) => {
    members.push({ index: members.length, room: r, user, seen: new Set(), maxId: -1 });
  }));
  const tokens = members.map((m) => spec.users[m.user].token);
  // Members of a room alternate between the servers of spec.urls (when there are several).
  const connected = await connectMany(spec.urls ?? spec.url, tokens, { concurrency: spec.connectConcurrency ?? 100 });
  if (connected.errors.length) throw new Error(`${connected.errors.length} connects failed: ${connected.errors[0]}`);
  members.forEach((m, i) => { m.socket = connected.sockets[i]; });
  progress(`${members.length} sockets connected (${connected.rate.toFixed(0)}/s); creating chats`);
  const chatIds = [];
  for (const [r, room] of spec.rooms.entries()) {
    const creator = members.find((m) => m.room === r);
    const others = room.members.filter((u) => u !== creator.user).map((u) => spec.users[u].id);
    chatIds.push((await request(creator.socket, "create_chat", { userIds: others })).id);
  }
  for (const m of members) m.chatId = chatIds[m.room];
  await Promise.all(members.map((m) => request(m.socket, "enter_chat", { chatIds: [m.chatId] })));
  return { members, connected, chatIds };
}

// Each typist (the senders, or every member) renews `typing: true` in its chat `rate` times a second (as a client that sends
// one per keystroke would), without an ack; returns a function that stops them all.
function startTyping(typers, rate) {
  const timers = typers.map((m) => setInterval(
    () => m.socket.emit("typing", { chatId: m.chatId, typing: true }), 1000 / rate));
  return () => timers.forEach(clearInterval);
}

// Each member marks the newest message it has received read, at most once every
// `everySeconds` (a client debouncing its marks), starting at a random offset.
function startMarking(members, everySeconds, timeoutMs) {
  const stats = { marks: 0, markAcks: 0, markErrors: {} };
  const interval = everySeconds * 1000;
  const start = now();
  for (const m of members) { m.nextMark = start + Math.random() * interval; m.markedId = -1; }
  const timer = setInterval(() => {
    const t = now();
    for (const m of members) {
      if (t < m.nextMark || m.maxId <= m.markedId) continue;
      m.nextMark = t + interval;
      m.markedId = m.maxId;
      stats.marks++;
      m.socket.timeout(timeoutMs).emit("mark_read", { chatId: m.chatId, messageId: m.maxId },
        (err, response) => {
          const code = err ? "timeout" : response?.status === "ok" ? null : response?.code;
          if (code === null) stats.markAcks++;
          else stats.markErrors[code] = (stats.markErrors[code] ?? 0) + 1;
        });
    }
  }, 20);
  const answered = () => stats.markAcks + Object.values(stats.markErrors).reduce((a, b) => a + b, 0);
  const stop = async () => {
    clearInterval(timer);
    const deadline = now() + timeoutMs;
    while (answered() < stats.marks && now() < deadline) await sleep(20);
  };
  return { stats, stop };
}

async function drain(tracker, timeoutMs) {
  const deadline = now() + timeoutMs;
  while (now() < deadline && (tracker.acksDone < tracker.issued || tracker.receivedOk < tracker.expected)) {
    await sleep(20);
  }
  await sleep(300); // late duplicates or strays would show up here
}

/** Run a fan-out workload described by `spec`; returns the result object. */
export async function runFanout(spec) {
  const { members, connected, chatIds } = await setUp(spec);
  const tracker = new Tracker(spec.rooms.map((room) => room.members.length));
  for (const m of members) m.socket.on("receive_message", (message) => tracker.delivered(m, message));
  const senders = members.filter((m) => spec.rooms[m.room].senders.includes(m.user));
  const send = makeSender(tracker, spec);
  let typingReceived = 0;
  let typingErrors = 0;
  for (const m of members) {
    m.socket.on("typing", () => { typingReceived++; });
    m.socket.on("exception", () => { typingErrors++; });
  }
  const reporter = setInterval(() => progress(
    `sent ${tracker.issued} acked ${tracker.acksDone} delivered ${tracker.received}/${tracker.expected}`), 1000);
  emitLine({ event: "start" });
  const cpu0 = process.cpuUsage();
  const started = now();
  const typists = spec.typists === "all" ? members : senders;
  const stopTyping = spec.typingRate ? startTyping(typists, spec.typingRate) : () => {};
  const marking = spec.markEverySeconds
    ? startMarking(members, spec.markEverySeconds, spec.ackTimeoutMs ?? 30000) : null;
  if (spec.rate) await openLoop(senders, send, spec.rate, spec.seconds);
  else await closedLoop(senders, send, spec.messagesPerSender, spec.inFlight);
  stopTyping();
  await drain(tracker, spec.drainTimeoutMs ?? 15000);
  await marking?.stop();
  const cpu = process.cpuUsage(cpu0);
  emitLine({ event: "end" });
  clearInterval(reporter);
  closeAll(members.map((m) => m.socket));
  const ackSeconds = (tracker.lastAck - started) / 1000;
  const receiveSeconds = (tracker.lastReceive - started) / 1000;
  return {
    connections: members.length,
    connectRate: Math.round(connected.rate),
    connectionsPerServer: connected.perUrl,
    chatIds,
    senders: senders.length,
    sent: tracker.issued,
    acked: tracker.ackOk,
    ackErrors: tracker.ackErrors,
    ackTimeouts: tracker.ackTimeouts,
    duplicateIds: tracker.duplicateIds,
    deliveriesExpected: tracker.expected,
    deliveriesReceived: tracker.received,
    lost: tracker.expected - tracker.receivedOk,
    duplicates: tracker.duplicates + tracker.echoes,
    unexpected: tracker.unexpected,
    echoes: tracker.echoes,
    reordered: tracker.reordered,
    corrupted: tracker.corrupted,
    seconds: Math.round(Math.max(ackSeconds, receiveSeconds) * 1000) / 1000,
    // How long deliveries went on after the last ack (a backlog behind fast acks shows here).
    deliveryTailSeconds: Math.round(Math.max(0, receiveSeconds - ackSeconds) * 1000) / 1000,
    messagesPerSecond: Math.round(tracker.ackOk / ackSeconds),
    deliveriesPerSecond: Math.round(tracker.received / receiveSeconds),
    latencyMs: { ack: summarize(tracker.ackLatency), receive: summarize(tracker.receiveLatency) },
    typingRate: spec.typingRate ?? 0,
    typingReceived,
    typingErrors,
    ...(marking ? marking.stats : {}),
    loadgenCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / ((now() - started) / 1000)) * 100),
  };
}
