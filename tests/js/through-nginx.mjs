// The official client through nginx in front of two pipechat processes, driven by
// tests/deploy/test_nginx.py (which starts and restarts the processes):
// 1. the seed scenario over websocket and over long-polling;
// 2. the same users, as reconnect-recipe clients, send without pause; one process is restarted
//    and its clients move to the other through nginx; nothing may be lost.
//
// Environment: PIPECHAT_JS_URL (nginx), PIPECHAT_JS_MOVING and PIPECHAT_JS_STAYING (loopback
// source addresses nginx hashes to the process that will be restarted and to the other one).
// Protocol, one JSON object per line: writes {"step": "sending"} once messages flow, then
// waits for the line "restarted" on stdin, and ends with {"step": "done", ...}.
import assert from "node:assert/strict";
import { once } from "node:events";
import { Agent } from "node:http";
import { createInterface } from "node:readline";

import { RecipeClient, messagesAfter } from "./recipe-client.mjs";
import { Recorder } from "./recorder.mjs";
import {
  createAndEnterChats, refuseBadToken, sendWithAcks, sendWithoutAcks,
} from "./seed-scenario.mjs";
import { registerUser } from "./server.mjs";

const TRANSPORTS = ["websocket", "polling"];
const BEFORE_RESTART = 5; // acked messages per sender before the restart is asked for
const AFTER_RESTART = 5; // messages per sender once the process is back
const PACE_MS = 25;

const url = process.env.PIPECHAT_JS_URL;
const agentOf = (address) => new Agent({ localAddress: address, keepAlive: true });
const moving = agentOf(process.env.PIPECHAT_JS_MOVING);
const staying = agentOf(process.env.PIPECHAT_JS_STAYING);
// Users 1 and 3 talk through the process that restarts; user 2 stays on the other one, so
// chat B (users 1 and 2) always spans both processes.
const AGENTS = [moving, staying, moving];
const sleep = (ms) => new Promise((wake) => setTimeout(wake, ms));

function report(step, fields = {}) {
  process.stdout.write(`${JSON.stringify({ step, ...fields })}\n`);
}

async function seedScenario(transport) {
  const users = [];
  for (const n of [1, 2, 3]) users.push(await registerUser(url, `${transport}${n}`));
  const sockets = users.map((user, index) =>
    new Recorder(url, user.accessToken, transport, { agent: AGENTS[index] }));
  try {
    await Promise.all(sockets.map((socket) => socket.connected()));
    const chats = await createAndEnterChats(users, sockets);
    await sendWithoutAcks(users, sockets, chats);
    await sendWithAcks(sockets, chats, transport);
    await refuseBadToken(url, transport, { agent: moving });
    return { transport, users, chats };
  } finally {
    for (const socket of sockets) socket.close();
  }
}

function recipeClients({ transport, users, chats: [a, b] }) {
  const chatsOf = [[a, b], [b], [a]];
  return users.map((user, index) =>
    new RecipeClient(url, user, chatsOf[index], transport, { agent: AGENTS[index] }));
}

async function waitFor(condition, what, deadlineMs = 30_000) {
  const until = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

async function restartPhase(worlds, restart) {
  const clients = worlds.flatMap(recipeClients);
  await Promise.all(clients.map((client) => client.whenReady()));
  const senders = clients.flatMap((client) => [...client.chats.keys()].map(async (chatId) => {
    let after = 0;
    for (let n = 0; after < AFTER_RESTART; n += 1) {
      const isAfter = restart.done;
      await client.send(chatId, `message ${n}`, `${client.user.nickname}-${chatId}-${n}`);
      if (isAfter) after += 1;
      await sleep(PACE_MS);
    }
  }));
  const sent = () => clients.every((client) => client.acked.size >= BEFORE_RESTART);
  await waitFor(sent, "the first acknowledgements");
  report("sending");
  await restart.signal;
  await Promise.all(senders);
  return clients;
}

function checkAfterRestart(clients) {
  for (const [index, client] of clients.entries()) {
    assert.deepEqual(client.failures, []);
    // Users 1 and 3 of each transport were on the restarted process and came back elsewhere.
    if (index % 3 !== 1) assert.ok(client.connects >= 2, `${client.user.nickname} never moved`);
  }
  return clients.filter((_, index) => index % 3 === 1).map((stayer) => {
    // User 2 never left its process and hears user 1's last message in chat B, sent after
    // user 1 moved.
    const mover = clients[clients.indexOf(stayer) - 1];
    const [chatB] = stayer.chats.keys();
    const last = [...mover.acked.values()].filter((ack) => ack.chatId === chatB).at(-1);
    assert.ok(last.connect >= 2);
    return waitFor(() => stayer.live.has(last.id),
      `${stayer.user.nickname} to hear message ${last.id}`);
  });
}

async function checkNothingLost(clients) {
  const chatIds = [...new Set(clients.flatMap((client) => [...client.chats.keys()]))];
  for (const chatId of chatIds) {
    const members = clients.filter((client) => client.chats.has(chatId));
    const stored = new Map((await messagesAfter(url, members[0].user.accessToken, chatId, 0))
      .map((message) => [message.id, message]));
    const ids = [...stored.keys()].sort((x, y) => x - y);
    const keys = [...stored.values()].filter((m) => m.clientMessageId !== null)
      .map((m) => `${m.author.id}/${m.clientMessageId}`);
    assert.equal(new Set(keys).size, keys.length, `chat ${chatId}: a clientMessageId twice`);
    for (const client of members) {
      for (const [clientMessageId, ack] of client.acked) {
        if (ack.chatId === chatId) {
          assert.equal(stored.get(ack.id)?.clientMessageId, clientMessageId);
        }
      }
      // What the README's recipe does on connect; the client must then hold the whole chat.
      await client.catchUp(chatId);
      const held = client.chats.get(chatId);
      assert.deepEqual([...held.messages.keys()].sort((x, y) => x - y), ids,
        `${client.user.nickname} in chat ${chatId}`);
      assert.equal(held.last, ids.at(-1));
    }
  }
}

async function main() {
  const lines = createInterface({ input: process.stdin });
  const restart = { done: false };
  restart.signal = once(lines, "line").then(([line]) => {
    assert.equal(line, "restarted");
    restart.done = true;
  });
  const worlds = [];
  for (const transport of TRANSPORTS) worlds.push(await seedScenario(transport));
  report("seeded", { users: worlds.flatMap((world) => world.users.map((user) => user.id)) });

  const clients = await restartPhase(worlds, restart);
  await Promise.all(checkAfterRestart(clients));
  await checkNothingLost(clients);
  const acked = clients.flatMap((client) => [...client.acked]
    .map(([clientMessageId, ack]) => [client.user.id, clientMessageId, ack.id]));
  report("done", {
    acked,
    connects: clients.map((client) => client.connects),
    resent: clients.reduce((sum, client) => sum + client.resent, 0),
  });
  for (const client of clients) client.close();
  lines.close();
  // Let the long-polling goodbyes reach the servers: a GET they leave parked would hold up
  // a process's shutdown.
  const idle = () => [moving, staying].every((agent) => Object.keys(agent.sockets).length === 0);
  await waitFor(idle, "the clients to close", 10_000);
  moving.destroy();
  staying.destroy();
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
