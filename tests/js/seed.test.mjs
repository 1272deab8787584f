// The seed's scenario, replayed with the official socket.io-client on both transports:
// three users; user 1 in chats 1 and 2, user 2 in chat 2, user 3 in chat 1.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { io } from "socket.io-client";

import { Recorder } from "./recorder.mjs";
import { registerUser, startServer } from "./server.mjs";

for (const transport of ["websocket", "polling"]) {
  describe(`seed scenario over ${transport}`, { timeout: 90_000 }, () => {
    let server;
    let users;
    let sockets;

    before(async () => {
      server = await startServer();
      users = [];
      for (const n of [1, 2, 3]) users.push(await registerUser(server.url, `${transport}${n}`));
      sockets = users.map((user) => new Recorder(server.url, user.accessToken, transport));
      await Promise.all(sockets.map((socket) => socket.connected()));
    });

    after(async () => {
      for (const socket of sockets ?? []) socket.close();
      await server?.stop();
    });

    test("chats 1 and 2 are created and entered", async () => {
      const [user1, user2, user3] = sockets;
      const chat1 = await user1.call("create_chat", { userIds: [users[2].id] });
      const chat2 = await user1.call("create_chat", { userIds: [users[1].id] });
      assert.equal(chat1.status, "ok");
      assert.equal(chat1.data.id, 1);
      assert.equal(chat2.data.id, 2);
      assert.deepEqual(chat1.data.users.map((user) => user.id), [users[0].id, users[2].id]);
      assert.deepEqual(await user3.next("chat_created"), chat1.data);
      assert.deepEqual(await user2.next("chat_created"), chat2.data);
      for (const [socket, chatIds] of [[user1, [1, 2]], [user2, [2]], [user3, [1]]]) {
        assert.deepEqual(await socket.call("enter_chat", { chatIds }),
          { status: "ok", data: { chatIds } });
      }
    });

    test("without acks: only the other members in the room receive, errors on exception",
      async () => {
        const [user1, user2, user3] = sockets;
        user1.socket.emit("send_message", { chatId: 1, message: "hello chat 1" });
        user1.socket.emit("send_message", { chatId: 2, message: "hello chat 2" });
        const toChat1 = await user3.next("receive_message");
        assert.equal(toChat1.message, "hello chat 1");
        assert.equal(toChat1.chatId, 1);
        assert.deepEqual(toChat1.author, { id: users[0].id, nickname: users[0].nickname });
        // Delivered in commit order: had user 2 got the chat-1 message it would come first.
        assert.equal((await user2.next("receive_message")).message, "hello chat 2");
        user3.socket.emit("send_message", { chatId: 1, message: "reply" });
        // The sender never hears itself: its first message is user 3's reply.
        assert.equal((await user1.next("receive_message")).message, "reply");

        user1.socket.emit("enter_chat", { chatIds: [99] });
        const error = await user1.next("exception");
        assert.equal(error.status, "error");
        assert.equal(error.code, 100);
        assert.equal(typeof error.message, "string");
      });

    test("with acks: the saved message comes back, errors in the ack only", async () => {
      const [user1, user2, user3] = sockets;
      const first = await user1.call("send_message",
        { chatId: 1, message: "acked to 1", clientMessageId: `${transport}-a` });
      assert.equal(first.status, "ok");
      assert.deepEqual(Object.keys(first.data).sort(),
        ["author", "chatId", "clientMessageId", "createdAt", "id", "message", "previousId"]);
      assert.match(first.data.createdAt, /Z$/);
      const second = await user1.call("send_message", { chatId: 2, message: "acked to 2" });
      assert.deepEqual(await user3.next("receive_message"), first.data);
      assert.deepEqual(await user2.next("receive_message"), second.data);

      const again = await user1.call("send_message",
        { chatId: 1, message: "acked to 1", clientMessageId: `${transport}-a` });
      assert.deepEqual(again, first);

      const missing = await user1.call("enter_chat", { chatIds: [99] });
      assert.deepEqual(missing, { status: "error", code: 100, message: "chat 99 does not exist" });
      const stranger = await user2.call("enter_chat", { chatIds: [1] });
      assert.equal(stranger.code, 101);
      const unknown = await user1.call("no_such_event", {});
      assert.equal(unknown.code, 106);

      const marker = await user3.call("send_message", { chatId: 1, message: "marker" });
      // The idempotent re-send was not broadcast: user 1's next message is the marker ...
      assert.deepEqual(await user1.next("receive_message"), marker.data);
      // ... and acked errors never also arrive on `exception`.
      assert.equal(user1.backlog("exception"), 0);
      assert.equal(user3.backlog("receive_message"), 0);
    });

    test("a bad token is refused at connect with a code", async () => {
      const socket = io(`${server.url}/chats`,
        { auth: { token: "nope" }, transports: [transport], reconnection: false, forceNew: true });
      const error = await new Promise((ok) => socket.once("connect_error", ok));
      socket.close();
      assert.equal(error.data.code, 110);
      assert.equal(error.message, error.data.message);
    });
  });
}
