// The seed's scenario in steps, shared by seed.test.mjs (one fresh server per transport) and
// through-nginx.mjs (nginx in front of two processes). Three users: user 1 in chats A and B,
// user 2 in chat B, user 3 in chat A. `sockets` are Recorders of the three users, in order.
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const MISSING_CHAT = 99;

/** User 1 creates chat A (with user 3) and chat B (with user 2); all enter theirs. */
export async function createAndEnterChats(users, sockets) {
  const [user1, user2, user3] = sockets;
  const chatA = await user1.call("create_chat", { userIds: [users[2].id] });
  const chatB = await user1.call("create_chat", { userIds: [users[1].id] });
  assert.equal(chatA.status, "ok");
  assert.equal(chatB.data.id, chatA.data.id + 1);
  assert.deepEqual(chatA.data.users.map((user) => user.id), [users[0].id, users[2].id]);
  assert.deepEqual(await user3.next("chat_created"), chatA.data);
  assert.deepEqual(await user2.next("chat_created"), chatB.data);
  const [a, b] = [chatA.data.id, chatB.data.id];
  for (const [socket, chatIds] of [[user1, [a, b]], [user2, [b]], [user3, [a]]]) {
    assert.deepEqual(await socket.call("enter_chat", { chatIds }),
      { status: "ok", data: { chatIds } });
  }
  return [a, b];
}

/** Without acks: only the other members in the room receive, errors come on `exception`. */
export async function sendWithoutAcks(users, sockets, [a, b]) {
  const [user1, user2, user3] = sockets;
  user1.socket.emit("send_message", { chatId: a, message: "hello chat A" });
  user1.socket.emit("send_message", { chatId: b, message: "hello chat B" });
  const toChatA = await user3.next("receive_message");
  assert.equal(toChatA.message, "hello chat A");
  assert.equal(toChatA.chatId, a);
  assert.deepEqual(toChatA.author, { id: users[0].id, nickname: users[0].nickname });
  // Delivered in commit order: had user 2 got the chat-A message it would come first.
  assert.equal((await user2.next("receive_message")).message, "hello chat B");
  user3.socket.emit("send_message", { chatId: a, message: "reply" });
  // The sender never hears itself: its first message is user 3's reply.
  assert.equal((await user1.next("receive_message")).message, "reply");

  user1.socket.emit("enter_chat", { chatIds: [MISSING_CHAT] });
  const error = await user1.next("exception");
  assert.equal(error.status, "error");
  assert.equal(error.code, 100);
  assert.equal(typeof error.message, "string");
}

/** With acks: the saved message comes back, errors in the ack only. */
export async function sendWithAcks(sockets, [a, b], prefix) {
  const [user1, user2, user3] = sockets;
  const first = await user1.call("send_message",
    { chatId: a, message: "acked to A", clientMessageId: `${prefix}-a` });
  assert.equal(first.status, "ok");
  assert.deepEqual(Object.keys(first.data).sort(),
    ["author", "chatId", "clientMessageId", "createdAt", "deletedAt", "editedAt", "id", "message",
     "previousId", "reactions", "replyTo", "seq"]);
  assert.match(first.data.createdAt, /Z$/);
  const second = await user1.call("send_message", { chatId: b, message: "acked to B" });
  assert.deepEqual(await user3.next("receive_message"), first.data);
  assert.deepEqual(await user2.next("receive_message"), second.data);

  const again = await user1.call("send_message",
    { chatId: a, message: "acked to A", clientMessageId: `${prefix}-a` });
  assert.deepEqual(again, first);

  const missing = await user1.call("enter_chat", { chatIds: [MISSING_CHAT] });
  assert.deepEqual(missing,
    { status: "error", code: 100, message: `chat ${MISSING_CHAT} does not exist` });
  const stranger = await user2.call("enter_chat", { chatIds: [a] });
  assert.equal(stranger.code, 101);
  const unknown = await user1.call("no_such_event", {});
  assert.equal(unknown.code, 106);

  const marker = await user3.call("send_message", { chatId: a, message: "marker" });
  // The idempotent re-send was not broadcast: user 1's next message is the marker ...
  assert.deepEqual(await user1.next("receive_message"), marker.data);
  // ... and acked errors never also arrive on `exception`.
  assert.equal(user1.backlog("exception"), 0);
  assert.equal(user3.backlog("receive_message"), 0);
}

/** A bad token is refused at connect with a code. */
export async function refuseBadToken(url, transport, options = {}) {
  const socket = io(`${url}/chats`, {
    auth: { token: "nope" }, transports: [transport], reconnection: false, forceNew: true,
    ...options,
  });
  const error = await new Promise((ok) => socket.once("connect_error", ok));
  socket.close();
  assert.equal(error.data.code, 110);
  assert.equal(error.message, error.data.message);
}

// `io(url)` without `/chats` is a mistake the server names: code 130.
export async function refuseOtherNamespace(url, transport, token) {
  const socket = io(url, {
    auth: { token }, transports: [transport], reconnection: false, forceNew: true,
  });
  const error = await new Promise((ok) => socket.once("connect_error", ok));
  socket.close();
  assert.equal(error.data.code, 130);
  assert.equal(error.message, error.data.message);
  assert.match(error.message, /\/chats/);
}
