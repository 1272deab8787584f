// Typing and presence with the official socket.io-client, over both transports: the README's
// events, their acks, their coded errors, and a peer's coming and going.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Recorder } from "./recorder.mjs";
import { registerUser, rest, startServer } from "./server.mjs";

for (const transport of ["websocket", "polling"]) {
  describe(`typing and presence over ${transport}`, { timeout: 90_000 }, () => {
    let server;
    let users;
    let chat;

    before(async () => {
      server = await startServer({
        PIPECHAT_TYPING_TIMEOUT_SECONDS: "1",
        PIPECHAT_PRESENCE_GRACE_SECONDS: "0.5",
      });
      users = [];
      for (const n of [1, 2, 3]) users.push(await registerUser(server.url, `l${transport}${n}`));
      chat = (await rest(server.url, users[0], "POST", "/chats",
        { userIds: [users[1].id] })).body;
    });

    after(async () => {
      await server?.stop();
    });

    test("typing reaches the other member, expires, and stops with a message", async () => {
      const [alice, bob] = [0, 1].map((i) => new Recorder(server.url, users[i].accessToken,
        transport));
      try {
        await Promise.all([alice.connected(), bob.connected()]);
        for (const socket of [alice, bob]) {
          assert.equal((await socket.call("enter_chat", { chatIds: [chat.id] })).status, "ok");
        }
        assert.deepEqual(await alice.call("typing", { chatId: chat.id, typing: true }),
          { status: "ok", data: { chatId: chat.id, typing: true } });
        assert.deepEqual(await bob.next("typing"),
          { chatId: chat.id, userId: users[0].id, typing: true });
        // Expired after PIPECHAT_TYPING_TIMEOUT_SECONDS without a renewal.
        assert.deepEqual(await bob.next("typing"),
          { chatId: chat.id, userId: users[0].id, typing: false });
        await alice.call("typing", { chatId: chat.id, typing: true });
        assert.equal((await bob.next("typing")).typing, true);
        const sent = await alice.call("send_message", { chatId: chat.id, message: "hi" });
        assert.equal((await bob.next("typing")).typing, false);
        assert.deepEqual(await bob.next("receive_message"), sent.data);
        assert.equal(alice.backlog("typing"), 0);

        const wrong = await alice.call("typing", { chatId: chat.id, typing: "yes" });
        assert.equal(wrong.status, "error");
        assert.equal(wrong.code, 103);
      } finally {
        alice.close();
        bob.close();
      }
    });

    test("a stranger cannot type in the chat nor see presence", async () => {
      const stranger = new Recorder(server.url, users[2].accessToken, transport);
      try {
        await stranger.connected();
        const refused = await stranger.call("typing", { chatId: chat.id, typing: true });
        assert.equal(refused.status, "error");
        assert.equal(refused.code, 101);
        const profile = await rest(server.url, users[2], "GET", `/users/${users[0].id}`);
        assert.equal(profile.status, 200);
        assert.equal("online" in profile.body, false);
        assert.equal("lastSeenAt" in profile.body, false);
      } finally {
        stranger.close();
      }
    });

    test("a member hears a peer come online and go offline", async () => {
      const bob = new Recorder(server.url, users[1].accessToken, transport);
      await bob.connected();
      // Alice's socket of the first test may still be in its grace period, and a reconnect
      // within it is no change: wait until she is shown offline.
      while ((await rest(server.url, users[1], "GET", `/users/${users[0].id}`)).body.online) {
        await new Promise((wake) => setTimeout(wake, 100));
      }
      const alice = new Recorder(server.url, users[0].accessToken, transport);
      try {
        await alice.connected();
        let came;
        do came = await bob.next("presence"); while (!came.online);
        assert.equal(came.userId, users[0].id);
        assert.equal(typeof came.lastSeenAt, "string");
        const listed = (await rest(server.url, users[1], "GET", "/chats")).body.data[0];
        assert.equal(listed.users.find((u) => u.id === users[0].id).online, true);
        alice.close();
        const went = await bob.next("presence");
        assert.deepEqual([went.userId, went.online], [users[0].id, false]);
      } finally {
        alice.close();
        bob.close();
      }
    });
  });
}
