// Drives the README's reconnect recipe (saved as a module at process.env.README_BLOCK): Carol's
// recipe client logs in, catches up on what was said before it connected, receives a live
// message, is added to a new chat and hears it, and sends one herself without a gap.
// (The token renewal of step 5 is driven by lifetime.test.mjs.)
import assert from "node:assert/strict";
import { io } from "socket.io-client";

import { registerUser } from "./server.mjs";

const base = process.env.PIPECHAT_URL;
const suffix = Date.now().toString(36);
const [alice, carol] = [await registerUser(base, `ra_${suffix}`), await registerUser(base, `rc_${suffix}`)];
const post = (path, token, body) => fetch(`${base}${path}`, {
  method: "POST", body: JSON.stringify(body),
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" } });
const chat = await (await post("/chats", alice.accessToken, { userIds: [carol.id] })).json();

const aliceSocket = io(`${base}/chats`, { auth: { token: alice.accessToken }, forceNew: true });
const say = async (chatId, text) => {
  const ack = await aliceSocket.emitWithAck("send_message",
    { chatId, message: text, clientMessageId: crypto.randomUUID() });
  assert.equal(ack.status, "ok");
};
for (const text of ["one", "two", "three"]) await say(chat.id, text);   // before Carol connects

process.env.CHAT_EMAIL = `${carol.nickname}@example.com`;
process.env.CHAT_PASSWORD = "correct horse";
const recipe = await import(process.env.README_BLOCK);
const until = async (check) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((wake) => setTimeout(wake, 50));
  assert.ok(check());
};
const texts = (chatId) => [...(recipe.chats.get(chatId)?.messages.values() ?? [])].map((m) => m.message);

await until(() => texts(chat.id).length === 3);                // caught up from history
await say(chat.id, "four");                                    // live
await until(() => texts(chat.id).includes("four"));
const second = await (await post("/chats", alice.accessToken, { userIds: [carol.id], name: "x" })).json();
await until(() => recipe.chats.has(second.id));                // chat_created: entered
await say(second.id, "in the new chat");
await until(() => texts(second.id).includes("in the new chat"));
const ack = await recipe.send(chat.id, "five");
assert.equal(ack.status, "ok");
assert.equal(recipe.chats.get(chat.id).last, ack.data.id);     // no gap: every id up to it held

await say(chat.id, "six");
await until(() => texts(chat.id).includes("six"));
console.log(`recipe ok: ${texts(chat.id).join(",")}`);
recipe.stop();
aliceSocket.close();
process.exit(0);
