// What the official socket.io-client sees of a socket's lifetime: at its access token's expiry
// an `exception` with code 111, then a server-side disconnect; the README's renewal recipe
// (`authenticate` with each new token) keeps it open; a logout ends it with 114.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { io } from "socket.io-client";

import { registerUser, startServer } from "./server.mjs";

const TTL_SECONDS = 10;

const once = (socket, event) => new Promise((ok) => socket.once(event, ok));

/** The README recipe's step 5 as a browser app writes it (`logIn` shows a login screen); `fetch` resolves its paths on `base`. */
function renewingSocket(base, tokens, logIn) {
  let { accessToken, refreshToken } = tokens;
  const fetch = (path, init) => globalThis.fetch(new URL(path, base), init);
  const socket = io(`${base}/chats`,
    { auth: (send) => send({ token: accessToken }), transports: ["websocket"], forceNew: true });

  // ---- from the README ----
  const expiresAt = (jwt) =>
    JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000;
  let renewal;

  async function renew() {           // true when the socket may (re)connect with the new token
    clearTimeout(renewal);
    const response = await fetch("/auth/token/access",
      { method: "POST", headers: { Authorization: `Bearer ${refreshToken}` } });
    if (!response.ok) { logIn(); return false; }  // 111, 114 or 115: the session is over
    accessToken = (await response.json()).accessToken;
    if (socket.connected) {
      // ok: {status: "ok", data: {expiresAt}}. No answer (a dropped link): the reconnect sends it.
      const ack = await socket.timeout(10_000).emitWithAck("authenticate", { token: accessToken })
        .catch(() => null);
      if (ack?.status === "error") { logIn(); return false; }
    }
    // Again at four fifths of the new token's life (60 s early with the default 300 s).
    renewal = setTimeout(renew, (expiresAt(accessToken) - Date.now()) * 0.8);
    return true;
  }
  renewal = setTimeout(renew, (expiresAt(accessToken) - Date.now()) * 0.8);

  socket.on("disconnect", (reason) => {
    // The server ended the socket (an `exception` with code 111 or 114 said why just before);
    // socket.io-client does not reconnect by itself after that.
    if (reason === "io server disconnect") renew().then((ok) => ok && socket.connect());
  });
  // ---- end of the README's code ----

  return { socket, stop: () => { clearTimeout(renewal); socket.close(); } };
}

const expiry = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url")).exp * 1000;

describe("a socket's lifetime, with the official client", { concurrency: true, timeout: 90_000 },
  () => {
    let server;

    before(async () => {
      server = await startServer({ PIPECHAT_ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) });
    });

    after(async () => {
      await server?.stop();
    });

    test("without a new token: `exception` 111, then a server-side disconnect", async () => {
      const user = await registerUser(server.url, "lapsed");
      const socket = io(`${server.url}/chats`,
        { auth: { token: user.accessToken }, transports: ["websocket"], forceNew: true });
      await once(socket, "connect");
      const [error, reason] = await Promise.all([once(socket, "exception"),
        once(socket, "disconnect")]);
      assert.equal(error.status, "error");
      assert.equal(error.code, 111);
      assert.equal(reason, "io server disconnect");
      assert.equal(socket.active, false); // the client will not reconnect by itself
      assert.ok(Date.now() >= expiry(user.accessToken));
      socket.close();
    });

    test("the README's renewal keeps the same socket open past the first expiry", async () => {
      const user = await registerUser(server.url, "renewed");
      const logIns = [];
      const client = renewingSocket(server.url, user, () => logIns.push(Date.now()));
      try {
        await once(client.socket, "connect");
        const id = client.socket.id;
        const ended = [];
        client.socket.on("exception", (error) => ended.push(error.code));
        await new Promise((wake) => setTimeout(wake, expiry(user.accessToken) + 1500 - Date.now()));
        assert.equal(client.socket.connected, true);
        assert.equal(client.socket.id, id);
        assert.deepEqual(ended, []);
        assert.deepEqual(logIns, []);
      } finally {
        client.stop();
      }
    });

    test("a logout ends the socket with 114 and the recipe asks to log in", async () => {
      const user = await registerUser(server.url, "leaver");
      let loggedIn = 0;
      const asked = new Promise((ok) => { loggedIn = ok; });
      const client = renewingSocket(server.url, user, () => loggedIn());
      try {
        await once(client.socket, "connect");
        const error = once(client.socket, "exception");
        const response = await fetch(`${server.url}/auth/logout`,
          { method: "POST", headers: { Authorization: `Bearer ${user.accessToken}` } });
        assert.equal(response.status, 204);
        assert.equal((await error).code, 114);
        await asked;
        assert.equal(client.socket.connected, false);
      } finally {
        client.stop();
      }
    });
  });
