// The seed's scenario, replayed with the official socket.io-client on both transports:
// three users; user 1 in chats 1 and 2, user 2 in chat 2, user 3 in chat 1.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Recorder } from "./recorder.mjs";
import {
  createAndEnterChats, refuseBadToken, refuseOtherNamespace, sendWithAcks, sendWithoutAcks,
} from "./seed-scenario.mjs";
import { registerUser, startServer } from "./server.mjs";

for (const transport of ["websocket", "polling"]) {
  describe(`seed scenario over ${transport}`, { timeout: 90_000 }, () => {
    let server;
    let users;
    let sockets;
    let chats;

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
      chats = await createAndEnterChats(users, sockets);
      assert.deepEqual(chats, [1, 2]);
    });

    test("without acks: only the other members in the room receive, errors on exception",
      () => sendWithoutAcks(users, sockets, chats));

    test("with acks: the saved message comes back, errors in the ack only",
      () => sendWithAcks(sockets, chats, transport));

    test("a bad token is refused at connect with a code",
      () => refuseBadToken(server.url, transport));

    test("a namespace other than /chats is refused with code 130",
      () => refuseOtherNamespace(server.url, transport, users[0].accessToken));
  });
}
