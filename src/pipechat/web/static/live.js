// The Socket.IO connection's own life: the badge, a new access token when the server ends the
// socket, and requests with acknowledgements. What the chat does with its events is app.js's.

import { errorText } from "./api.js";
import { notify, reportError, setConnection } from "./status.js";

// The server ends a socket with `exception` and a disconnect for these codes.
export const ENDED_BY_SERVER = new Set([111, 114]);

/**
 * A socket on `/chats` presenting the session's current access token, or null when the
 * client library did not load. `inUse(socket)` tells whether the page still wants it.
 */
export function openSocket(session, inUse) {
  if (typeof io !== "function") {
    const src = document.querySelector("script[integrity]")?.src;
    notify(`The Socket.IO client library did not load (${src}); live chat is unavailable.`);
    setConnection("offline", "no Socket.IO client");
    return null;
  }
  // `auth` as a function: every reconnect presents the current access token.
  const socket = io("/chats", { auth: (send) => send({ token: session.accessToken }) });
  setConnection("reconnecting", "connecting");
  socket.on("connect", () => setConnection("connected"));
  socket.on("disconnect", (reason) => {
    setConnection(socket.active ? "reconnecting" : "offline", reason);
    // The server ended the socket (token expired, session ended): the client does not
    // reconnect by itself. Renew the token and connect again; a dead session logs out.
    if (reason === "io server disconnect") {
      session.refreshAccess()
        .then(() => { if (inUse(socket)) socket.connect(); })
        .catch((error) => { if (session.loggedIn) reportError(error); });
    }
  });
  socket.on("connect_error", async (error) => {
    const code = error.data?.code;
    if (ENDED_BY_SERVER.has(code) && session.loggedIn) {
      // The access token ran out while offline: refresh, then connect again (a session that
      // was logged out elsewhere fails to refresh, and the page asks to log in).
      try {
        await session.refreshAccess();
        socket.connect();
      } catch (refreshError) {
        reportError(refreshError);
      }
      return;
    }
    setConnection(socket.active ? "reconnecting" : "offline", error.message);
    if (!socket.active) notify(`Cannot connect: ${error.message}`);
  });
  socket.io.on("reconnect_attempt", () => setConnection("reconnecting"));
  socket.io.on("reconnect_failed", () => setConnection("offline", "gave up reconnecting"));
  return socket;
}

/** Emit with an acknowledgement; resolves with `data` or throws the server's message. */
export function request(socket, event, payload) {
  return new Promise((resolve, reject) => {
    socket.timeout(10_000).emit(event, payload, (timeout, ack) => {
      if (timeout) reject(new Error(`${event}: no answer from the server`));
      else if (ack?.status === "ok") resolve(ack.data);
      else reject(new Error(`${errorText(ack)} (code ${ack?.code})`));
    });
  });
}
