// The pipechat web page: REST for accounts, chats and history; the official Socket.IO client
// (loaded by index.html as the global `io`) for live messages. Text is only ever set with
// textContent, so a message is shown exactly as typed and never parsed as HTML.

import { ApiError, Session, errorText } from "./api.js";
import { ChatList, resolveUsers } from "./chats.js";
import { Composer } from "./composer.js";
import { ENDED_BY_SERVER, openSocket, request as sendRequest } from "./live.js";
import { MessageList, newClientMessageId } from "./messages.js";
import { clearNotice, notify, reportError, setConnection } from "./status.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 30;
const OPEN_CHAT_KEY = "pipechat.openChat";
// enter_chat takes at most this many ids per call.
const ROOM_BATCH = 100;

const state = {
  me: null,
  open: null, // {id, list: MessageList, loaded, olderNext}
  socket: null,
  everConnected: false,
};
const session = new Session((reason) => { showAuth(); notify(reason); }, (accessToken) => {
  // Before the old token expires, or the server disconnects the socket (code 111).
  if (state.socket?.connected) request("authenticate", { token: accessToken }).catch(reportError);
});
const chats = new ChatList($("chat-list"), $("more-chats"), $("no-chats"), session, {
  onOpen: (chatId) => openChat(chatId).catch(reportError),
  onAdded: (chatIds) => enterRooms(chatIds),
  onError: (error) => reportError(error),
});
const composer = new Composer($("send-form"), $("message-input"), $("composer-hint"),
  Number(document.querySelector("meta[name=pipechat-message-max-length]").content),
  (text) => sendText(text));

// ---- the view -------------------------------------------------------------------------------

/** No chat open: nothing of a previous one (or a previous user) stays on screen. */
function closeChatView() {
  state.open?.list.close();
  state.open = null;
  $("messages").replaceChildren();
  $("chat-title").textContent = "Pick a chat";
  $("send-form").hidden = true;
  composer.set("");
  $("load-older").hidden = true;
  $("chat-view").dataset.pane = "list";
  $("chat-view").dataset.synced = "false";
}

function showAuth() {
  state.socket?.disconnect();
  state.socket = null;
  state.everConnected = false;
  state.me = null;
  // Every trace of the session goes: its chats, the open chat with its unsent messages.
  chats.reset(null);
  closeChatView();
  $("auth-view").hidden = false;
  $("chat-view").hidden = true;
  $("logout").hidden = true;
  $("me").textContent = "";
  setConnection("offline");
}

// ---- accounts -------------------------------------------------------------------------------

async function start() {
  $("notice").hidden = true;
  try {
    state.me = await session.get("/users/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) session.clear();
    showAuth();
    if (!(error instanceof ApiError && error.status === 401)) reportError(error);
    return;
  }
  session.scheduleRefresh();
  $("auth-view").hidden = true;
  $("chat-view").hidden = false;
  $("logout").hidden = false;
  $("me").textContent = `${state.me.nickname} (#${state.me.id})`;
  chats.reset(state.me.id);
  closeChatView();
  connectSocket();
  const me = state.me;
  await chats.load().catch(reportError);
  if (state.me !== me) return; // logged out meanwhile
  // A reload reopens the chat that was open.
  const reopen = Number(sessionStorage.getItem(OPEN_CHAT_KEY));
  if (chats.has(reopen)) await openChat(reopen).catch(reportError);
}

function formSubmit(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await action(new FormData(form));
      clearNotice();
    } catch (error) {
      reportError(error);
    } finally {
      button.disabled = false;
    }
  });
}

formSubmit($("login-form"), async (data) => {
  await session.login(data.get("email"), data.get("password"));
  await start();
});
formSubmit($("register-form"), async (data) => {
  await session.register(data.get("nickname"), data.get("email"), data.get("password"));
  await start();
});
$("logout").addEventListener("click", async () => {
  sessionStorage.removeItem(OPEN_CHAT_KEY);
  clearNotice();
  showAuth(); // closes the socket first: the revocation below must not look like an error
  await session.logout();
});
$("notice-close").addEventListener("click", () => { $("notice").hidden = true; });

// ---- the socket ---------------------------------------------------------------------------

function connectSocket() {
  const socket = openSocket(session, (candidate) => state.socket === candidate);
  if (!socket) return;
  state.socket = socket;
  socket.on("connect", () => {
    const again = state.everConnected;
    state.everConnected = true;
    // Rooms belong to the socket: a new one enters every listed chat again.
    enterRooms(chats.ids());
    if (again) chats.load("/chats", { refresh: true }).catch(reportError);
    if (state.open) syncOpenChat(state.open).catch(reportError);
  });
  socket.on("receive_message", (message) => {
    const open = state.open;
    if (open?.id !== message.chatId) {
      chats.markUnread(message.chatId);
      return;
    }
    open.list.add(message);
    // A previousId we do not hold means live delivery skipped something: read it from history.
    if (!open.list.follow(message)) catchUp(open).catch(reportError);
  });
  socket.on("chat_created", (chat) => { if (chats.add(chat, true)) enterRooms([chat.id]); });
  socket.on("exception", (error) => {
    if (ENDED_BY_SERVER.has(error.code)) return; // the disconnect that follows is handled
    notify(`Server error ${error.code}: ${errorText(error)}`);
  });
}

addEventListener("offline", () => setConnection("offline", "the browser is offline"));
addEventListener("online", () => {
  if (state.socket && !state.socket.connected) state.socket.connect();
});

/**
 * Join the rooms of these chats, so a message in one that is not open marks it as unread
 * (the server sends `receive_message` to a chat's room only).
 */
function enterRooms(chatIds) {
  if (!state.socket?.connected) return; // the connect handler enters them all
  for (let start = 0; start < chatIds.length; start += ROOM_BATCH) {
    request("enter_chat", { chatIds: chatIds.slice(start, start + ROOM_BATCH) })
      .catch(reportError);
  }
}

/** A request with an acknowledgement on the page's socket. */
function request(event, payload) {
  return sendRequest(state.socket, event, payload);
}

// ---- chats --------------------------------------------------------------------------------

formSubmit($("new-chat-form"), async () => {
  const userIds = await resolveUsers(session, $("new-chat-users").value);
  const chat = await session.request("POST", "/chats", { userIds });
  if (chats.add(chat, true)) enterRooms([chat.id]);
  $("new-chat-users").value = "";
  await openChat(chat.id);
});

// ---- the open chat ------------------------------------------------------------------------

async function openChat(chatId) {
  if (state.open?.id === chatId) {
    $("chat-view").dataset.pane = "chat";
    return;
  }
  // The previous chat's room stays joined: its new messages mark it as unread.
  state.open?.list.close();
  chats.select(chatId);
  $("chat-title").textContent = `${chats.label(chatId)} · #${chatId}`;
  $("chat-view").dataset.pane = "chat";
  $("send-form").hidden = false;
  $("load-older").hidden = true;
  const open = { id: chatId, loaded: false, olderNext: null,
                 list: new MessageList($("messages"), state.me.id,
                                       { onRetry: retrySend, onEdit: editFailed }) };
  state.open = open;
  sessionStorage.setItem(OPEN_CHAT_KEY, String(chatId));
  $("chat-view").dataset.synced = "false";
  if (state.socket?.connected) await syncOpenChat(open);
}

/** Join the room first, then read history, so nothing falls between the two. */
async function syncOpenChat(open) {
  $("chat-view").dataset.synced = "false";
  await request("enter_chat", { chatIds: [open.id] });
  if (state.open !== open) return;
  if (!open.loaded) await loadNewest(open);
  else await catchUp(open);
  if (state.open !== open) return;
  open.list.resendUnconfirmed((pending) => sendPending(open, pending));
  // Marks the chat as live and complete (tests wait for it too).
  $("chat-view").dataset.synced = "true";
  clearNotice();
}

async function loadNewest(open) {
  const page = await session.get(
    `/chats/${open.id}/messages?order__createdAt=DESC&take=${PAGE_SIZE}`);
  if (state.open !== open) return;
  open.list.addOlder(page.data);
  open.list.complete(page.data);
  open.loaded = true;
  open.olderNext = page.next;
  $("load-older").hidden = !page.next;
  open.list.scrollToEnd();
}

/** After a reconnect or a gap: everything after the contiguous point, page by page. */
async function catchUp(open) {
  let url = `/chats/${open.id}/messages?order__createdAt=ASC&take=100` +
    `&where__id__more_than=${open.list.contiguousId}`;
  while (url && state.open === open) {
    const page = await session.get(url);
    page.data.forEach((message) => open.list.add(message));
    open.list.complete(page.data);
    url = page.next;
  }
}

$("load-older").addEventListener("click", async () => {
  const open = state.open;
  if (!open?.olderNext) return;
  try {
    const page = await session.get(open.olderNext);
    if (state.open !== open) return;
    open.list.addOlder(page.data);
    open.olderNext = page.next;
    $("load-older").hidden = !page.next;
  } catch (error) {
    reportError(error);
  }
});

$("back").addEventListener("click", () => { $("chat-view").dataset.pane = "list"; });

// ---- sending ------------------------------------------------------------------------------

function sendPending(open, pending) {
  // Retries reuse the clientMessageId: the server answers a repeat with the first message.
  const payload = { chatId: open.id, message: pending.text, clientMessageId: pending.clientId };
  const current = open.list.begin(pending);
  request("send_message", payload)
    .then((message) => {
      const latest = current(); // read first: confirming forgets the pending entry
      open.list.confirm(pending.clientId, message);
      if (!latest) return;
      clearNotice();
      if (!open.list.follow(message)) catchUp(open).catch(reportError);
    })
    .catch((error) => { if (current()) open.list.fail(pending.clientId, error.message); });
}

function retrySend(clientId) {
  const open = state.open;
  const pending = open?.list.retry(clientId);
  if (pending && state.socket?.connected) sendPending(open, pending);
}

/** A failed message back in the box, to change and send again (as a new message). */
function editFailed(text) {
  composer.set(text);
  $("message-input").focus();
}

function sendText(text) {
  const open = state.open;
  if (!open) return;
  const pending = open.list.addPending(newClientMessageId(), text, state.me);
  // While disconnected the message waits as pending and goes out on reconnect.
  if (state.socket?.connected) sendPending(open, pending);
}

// For debugging from the console (and for the browser test): the live socket.
Object.defineProperty(window, "pipechat", { value: Object.freeze({
  get socket() { return state.socket; },
}) });

if (session.loggedIn) start();
else showAuth();
