// Chat management with the official socket.io-client: a group renamed, joined, promoted and
// left by removal; every member's sockets hear each change, with consecutive seqs, and the
// removed member hears nothing more of the chat; a read marker reaches the other members.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Recorder } from "./recorder.mjs";
import { registerUser, rest, startServer } from "./server.mjs";

for (const transport of ["websocket", "polling"]) {
  describe(`managing a group over ${transport}`, { timeout: 90_000 }, () => {
    let server;
    let users;
    let sockets;

    before(async () => {
      server = await startServer();
      users = [];
      for (const n of [1, 2, 3]) users.push(await registerUser(server.url, `m${transport}${n}`));
      sockets = users.map((user) => new Recorder(server.url, user.accessToken, transport));
      await Promise.all(sockets.map((socket) => socket.connected()));
    });

    after(async () => {
      for (const socket of sockets ?? []) socket.close();
      await server?.stop();
    });

    test("rename, add, promote and remove reach every member with the next seq", async () => {
      const [owner, second, third] = sockets;
      const created = await owner.call("create_chat",
        { kind: "group", name: "Trip", userIds: [users[1].id] });
      assert.equal(created.status, "ok");
      const chat = created.data;
      assert.equal(chat.name, "Trip");
      assert.equal(chat.seq, 1);
      assert.deepEqual(chat.users.map((user) => user.chatRole), ["owner", "member"]);
      assert.deepEqual(await second.next("chat_created"), chat);
      await owner.next("chat_created");

      const renamed = await rest(server.url, users[0], "PATCH", `/chats/${chat.id}`,
        { name: "Trip 2" });
      assert.equal(renamed.status, 200);
      for (const socket of [owner, second]) {
        assert.deepEqual(await socket.next("chat_updated"),
          { chatId: chat.id, chat: renamed.body, by: users[0].id, seq: 2 });
      }

      const added = await rest(server.url, users[0], "POST", `/chats/${chat.id}/members`,
        { userIds: [users[2].id] });
      assert.equal(added.status, 200);
      for (const socket of [owner, second, third]) {
        const event = await socket.next("member_added");
        assert.equal(event.seq, 3);
        assert.deepEqual(event.users.map((user) => user.id), [users[2].id]);
        assert.deepEqual(event.chat, added.body);
      }

      const promoted = await rest(server.url, users[0], "PATCH",
        `/chats/${chat.id}/members/${users[1].id}`, { role: "admin" });
      assert.equal(promoted.status, 200);
      for (const socket of [owner, second, third]) {
        assert.deepEqual(await socket.next("member_updated"),
          { chatId: chat.id, userId: users[1].id, role: "admin", by: users[0].id, seq: 4 });
      }

      for (const socket of sockets) {
        assert.equal((await socket.call("enter_chat", { chatIds: [chat.id] })).status, "ok");
      }
      const removed = await rest(server.url, users[1], "DELETE",
        `/chats/${chat.id}/members/${users[2].id}`);
      assert.deepEqual(removed, { status: 200, body: {
        chatId: chat.id, userId: users[2].id, by: users[1].id, reason: "removed", seq: 5 } });
      for (const socket of sockets) assert.deepEqual(await socket.next("member_removed"), removed.body);

      const sent = await owner.call("send_message", { chatId: chat.id, message: "after" });
      assert.equal(sent.data.seq, 6);
      assert.deepEqual(await second.next("receive_message"), sent.data);
      const refused = await third.call("send_message", { chatId: chat.id, message: "me?" });
      assert.equal(refused.code, 101);
      assert.equal((await third.call("enter_chat", { chatIds: [chat.id] })).code, 101);
      assert.equal(third.backlog("receive_message"), 0);
      const wrong = await rest(server.url, users[2], "PATCH", `/chats/${chat.id}`, { name: "x" });
      assert.deepEqual([wrong.status, wrong.body.code], [403, 101]);

      const read = await second.call("mark_read", { chatId: chat.id, messageId: sent.data.id });
      const marker = { chatId: chat.id, userId: users[1].id, lastReadMessageId: sent.data.id,
        seq: 6 };
      assert.deepEqual(read, { status: "ok", data: marker });
      assert.deepEqual(await owner.next("read"), marker);
      assert.equal(second.backlog("read"), 0); // the socket that asked is not told again
      assert.equal(third.backlog("read"), 0);
    });
  });
}
