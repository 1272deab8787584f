// Edits, deletions, reactions and replies with the official socket.io-client: each event's
// ack, what every member hears (with consecutive seqs), and a coded error for each refusal.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Recorder } from "./recorder.mjs";
import { registerUser, startServer } from "./server.mjs";

for (const transport of ["websocket", "polling"]) {
  describe(`edits, deletions, reactions and replies over ${transport}`, { timeout: 90_000 }, () => {
    let server;
    let users;
    let sockets;

    before(async () => {
      server = await startServer();
      users = [];
      for (const n of [1, 2]) users.push(await registerUser(server.url, `e${transport}${n}`));
      sockets = users.map((user) => new Recorder(server.url, user.accessToken, transport));
      await Promise.all(sockets.map((socket) => socket.connected()));
    });

    after(async () => {
      for (const socket of sockets ?? []) socket.close();
      await server?.stop();
    });

    test("each event is acknowledged and heard by every member, in seq order", async () => {
      const [alice, bob] = sockets;
      const created = await alice.call("create_chat", { name: "E", userIds: [users[1].id] });
      const chatId = created.data.id;
      await alice.next("chat_created");
      await bob.next("chat_created");
      await bob.call("enter_chat", { chatIds: [chatId] });

      const sent = await alice.call("send_message", { chatId, message: "helo" });
      assert.equal(sent.status, "ok");
      assert.deepEqual(sent.data.reactions, []);
      assert.equal(sent.data.replyTo, null);
      assert.equal(sent.data.editedAt, null);
      await bob.next("receive_message");

      const reply = await bob.call("send_message",
        { chatId, message: "hi", replyToId: sent.data.id });
      assert.deepEqual(reply.data.replyTo,
        { id: sent.data.id, author: { id: users[0].id, nickname: users[0].nickname },
          message: "helo", deletedAt: null });

      const edited = await alice.call("edit_message", { messageId: sent.data.id, message: "hello" });
      assert.equal(edited.status, "ok");
      assert.equal(edited.data.message, "hello");
      assert.notEqual(edited.data.editedAt, null);
      for (const socket of [alice, bob]) {
        const event = await socket.next("message_updated");
        assert.equal(event.seq, reply.data.seq + 1);
        assert.equal(event.message.message, "hello");
      }

      const added = await bob.call("add_reaction", { messageId: sent.data.id, emoji: "👍🏽" });
      assert.deepEqual(added.data, { chatId, messageId: sent.data.id, userId: users[1].id,
        emoji: "👍🏽", count: 1, seq: reply.data.seq + 2 });
      for (const socket of [alice, bob]) {
        assert.deepEqual(await socket.next("reaction_added"), added.data);
      }
      const removed = await bob.call("remove_reaction", { messageId: sent.data.id, emoji: "👍🏽" });
      assert.equal(removed.data.count, 0);
      for (const socket of [alice, bob]) {
        assert.deepEqual(await socket.next("reaction_removed"), removed.data);
      }

      const deleted = await alice.call("delete_message", { messageId: sent.data.id });
      assert.equal(deleted.status, "ok");
      assert.equal(deleted.data.seq, reply.data.seq + 4);
      for (const socket of [alice, bob]) {
        assert.deepEqual(await socket.next("message_deleted"), deleted.data);
      }
      const history = await fetch(`${server.url}/chats/${chatId}/messages`,
        { headers: { Authorization: `Bearer ${users[1].accessToken}` } });
      const shown = (await history.json()).data;
      assert.deepEqual(shown.map((m) => m.message), [null, "hi"]);
      assert.equal(shown[1].replyTo.message, null);
    });

    test("refusals come back as coded errors", async () => {
      const [alice, bob] = sockets;
      const created = await alice.call("create_chat", { name: "R", userIds: [users[1].id] });
      await alice.next("chat_created");
      await bob.next("chat_created");
      const sent = await alice.call("send_message", { chatId: created.data.id, message: "x" });
      const messageId = sent.data.id;
      const cases = [
        [bob, "edit_message", { messageId, message: "mine now" }, 161],
        [bob, "delete_message", { messageId }, 161],
        [bob, "add_reaction", { messageId, emoji: "ok" }, 103],
        [bob, "add_reaction", { messageId, emoji: "👍👍" }, 103],
        [alice, "edit_message", { messageId: 999999, message: "x" }, 145],
        [alice, "send_message", { chatId: created.data.id, message: "x", replyToId: 999999 }, 145],
      ];
      for (const [socket, event, payload, code] of cases) {
        const ack = await socket.call(event, payload);
        assert.equal(ack.status, "error", event);
        assert.equal(ack.code, code, event);
      }
      await alice.call("delete_message", { messageId });
      await alice.next("message_deleted");
      await bob.next("message_deleted");
      assert.equal((await alice.call("edit_message", { messageId, message: "y" })).code, 160);
      assert.equal((await bob.call("add_reaction", { messageId, emoji: "👍" })).code, 160);
    });
  });
}
