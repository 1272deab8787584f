// The pipechat web page: REST for accounts, chats and history; the official Socket.IO client
// (loaded by index.html as the global `io`) for live messages and chat changes; the change log
// (GET /sync) to catch up after a reconnect. Text is only ever set with textContent, so a
// message or a chat name is shown exactly as typed and never parsed as HTML.

import { messageActions, saveEdit } from "./actions.js";
import { ApiError, Session, errorText } from "./api.js";
import { ChatList, resolveUsers } from "./chats.js";
import { Composer } from "./composer.js";
import { Draft } from "./drafts.js";
import { Typing } from "./typing.js";
import { ENDED_BY_SERVER, openSocket, request as sendRequest } from "./live.js";
import { History } from "./history.js";
import { manageChats } from "./manage.js";
import { MessageList } from "./messages.js";
import { Outbox } from "./outbox.js";
import { Reader } from "./reading.js";
import { showSeen } from "./seen.js";
import { clearNotice, notify, reportError, setConnection } from "./status.js";
import { ChangeLog } from "./sync.js";
import { applySync, followChatEvents, noteSeq, ownRead } from "./updates.js";

const $ = (id) => document.getElementById(id);
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
const changeLog = new ChangeLog(session);
let resyncing = null; // the sync under way, if any
// What updates.js and manage.js may do to the page.
const view = {
  session,
  chats,
  myId: () => state.me?.id,
  openId: () => state.open?.id,
  enterRooms: (chatIds) => enterRooms(chatIds),
  gone: (chatId, text) => chatGone(chatId, text),
  refreshOpen: (chatId) => { if (state.open?.id === chatId) showOpenChat(); },
  openList: (chatId) => (state.open?.id === chatId ? state.open.list : null),
  fillOpen: (chatId, afterSeq) => {
    if (state.open?.id === chatId) chatHistory.changesAfter(state.open, afterSeq).catch(reportError);
  },
  messageGone: (messageId) => draft.gone(messageId),
  fetchChat: (chatId) => fetchChat(chatId),
  resync: () => { resyncing ??= resync().catch(reportError).finally(() => { resyncing = null; }); },
  changed: (chat) => { chats.upsert(chat); view.refreshOpen(chat.id); },
  report: (error) => reportError(error),
  done: () => clearNotice(),
  submit: (form, action) => formSubmit(form, action),
};
const composer = new Composer($("send-form"), $("message-input"), $("composer-hint"),
  Number(document.querySelector("meta[name=pipechat-message-max-length]").content),
  (text) => {
    if (!state.open) return;
    typing.saved();
    if (draft.editing()) {
      saveEdit(acting, draft, text);
      return;
    }
    outbox.submit(state.open, text, state.me, draft.replyTo());
    draft.clear();
  });
const draft = new Draft($("draft"), composer);
const typing = new Typing($("typing"), { socket: () => state.socket, chats,
  openId: () => state.open?.id, myId: () => state.me?.id });
$("message-input").addEventListener("input", () => {
  // Changing a saved message is not writing one: the others are not told.
  if (!draft.editing()) typing.input($("message-input").value);
});
// What actions.js may do: requests on the socket, the open chat's list.
const acting = {
  socket: () => state.socket,
  open: () => state.open,
  myId: () => state.me?.id,
  noteSeq: (chatId, seq) => noteSeq(view, chatId, seq),
  report: (error) => reportError(error),
  done: () => clearNotice(),
};
const messageAct = messageActions(acting, draft);
const chatHistory = new History(session, $("load-older"), () => state.open,
  (error) => reportError(error), () => state.me?.id);
const reader = new Reader(chats, session, {
  socket: () => state.socket,
  onMarked: (chatId, lastReadMessageId) => ownRead(view, chatId, lastReadMessageId),
  onError: (error) => reportError(error),
});
const outbox = new Outbox({
  socket: () => state.socket,
  onSaved: (open, message, latest) => {
    noteSeq(view, message.chatId, message.seq);
    if (!latest) return;
    clearNotice();
    if (!open.list.follow(message)) chatHistory.catchUp(open).catch(reportError);
  },
});

// ---- the view -------------------------------------------------------------------------------

/** No chat open: nothing of a previous one (or a previous user) stays on screen. */
function closeChatView() {
  state.open?.list.close();
  state.open = null;
  $("messages").replaceChildren();
  $("chat-title").textContent = "Pick a chat";
  $("chat-kind").hidden = true;
  management.show(null);
  $("send-form").hidden = true;
  composer.set("");
  draft.clear();
  typing.stop();
  typing.show();
  $("load-older").hidden = true;
  $("chat-view").dataset.pane = "list";
  $("chat-view").dataset.synced = "false";
}

function showAuth() {
  state.socket?.disconnect();
  state.socket = null;
  state.everConnected = false;
  state.me = null;
  changeLog.forget();
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
  const me = state.me;
  // The change log's token first: whatever changes after it, the next sync reports.
  await changeLog.start().catch(reportError);
  if (state.me !== me) return;
  connectSocket();
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
    (again ? resync() : Promise.resolve())
      .then(() => state.open && syncOpenChat(state.open)).catch(reportError);
  });
  socket.on("typing", (event) => typing.heard(event));
  socket.on("disconnect", () => typing.reset());
  socket.on("receive_message", (message) => {
    typing.sentMessage(message.chatId, message.author.id);
    const open = state.open?.id === message.chatId ? state.open : null;
    // A direct chat the user had hidden comes back with its next message.
    if (!chats.has(message.chatId)) fetchChat(message.chatId, { add: true });
    chats.noteMessage(message, Reader.viewing(open));
    if (!open) return;
    open.list.add(message);
    // A previousId we do not hold means live delivery skipped something: read it from history.
    if (!open.list.follow(message)) chatHistory.catchUp(open).catch(reportError);
    showSeen($("messages"), chats.chat(open.id), state.me.id);
    reader.mark(open);
  });
  followChatEvents(socket, view);
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

/** After a reconnect: what changed in every chat while away, from the change log. */
async function resync() {
  const me = state.me;
  if (!changeLog.token) {
    // The page never got a token (its first request failed): take one, re-read the list.
    await changeLog.start();
    await chats.load();
    return;
  }
  const { entries, since } = await changeLog.read();
  if (state.me !== me) return;
  applySync(view, entries);
  changeLog.commit(since);
}

/** A request with an acknowledgement on the page's socket. */
function request(event, payload) {
  return sendRequest(state.socket, event, payload);
}

// ---- chats --------------------------------------------------------------------------------

formSubmit($("new-chat-form"), async (data) => {
  const userIds = await resolveUsers(session, $("new-chat-users").value);
  const kind = data.get("kind");
  const name = data.get("name").trim();
  const chat = await session.request("POST", "/chats",
    kind === "group" && name ? { kind, name, userIds } : { kind, userIds });
  if (chats.upsert(chat, { top: true })) enterRooms([chat.id]);
  $("new-chat-users").value = "";
  $("new-chat-name").value = "";
  await openChat(chat.id);
});

/** The server's view of one chat (my unread count included). */
async function fetchChat(chatId, { add = false } = {}) {
  try {
    const chat = await session.get(`/chats/${chatId}`);
    if (chat.hidden || !(add || chats.has(chatId))) return;
    if (chats.upsert(chat, { top: add })) enterRooms([chatId]);
    view.refreshOpen(chatId);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) reportError(error);
  }
}

/** Left, removed or hidden: off the list, and out of view if it was open. */
function chatGone(chatId, text) {
  if (!chats.has(chatId)) return;
  chats.remove(chatId);
  if (state.open?.id === chatId) {
    sessionStorage.removeItem(OPEN_CHAT_KEY);
    closeChatView();
  }
  if (text) notify(text);
}

const management = manageChats(view);

// ---- the open chat ------------------------------------------------------------------------

async function openChat(chatId) {
  if (state.open?.id === chatId) {
    $("chat-view").dataset.pane = "chat";
    reader.mark(state.open);
    return;
  }
  // The previous chat's room stays joined: its new messages mark it as unread.
  state.open?.list.close();
  chats.select(chatId);
  if (draft.editing()) composer.set(""); // an edit belongs to the chat it was started in
  draft.clear();
  typing.stop(); // the text typed for the previous chat stays in the box, unsent
  $("chat-view").dataset.pane = "chat";
  $("send-form").hidden = false;
  $("load-older").hidden = true;
  const open = { id: chatId, loaded: false, olderNext: null,
                 list: new MessageList($("messages"), state.me.id,
                                       { onRetry: (clientId) => outbox.retry(open, clientId),
                                         onEdit: editFailed, act: messageAct }) };
  state.open = open;
  showOpenChat();
  typing.show();
  sessionStorage.setItem(OPEN_CHAT_KEY, String(chatId));
  $("chat-view").dataset.synced = "false";
  if (state.socket?.connected) await syncOpenChat(open);
}

/** Join the room first, then read history, so nothing falls between the two. */
async function syncOpenChat(open) {
  $("chat-view").dataset.synced = "false";
  await request("enter_chat", { chatIds: [open.id] });
  if (state.open !== open) return;
  // Presence is no change of the chat (a sync does not report it): its members afresh.
  fetchChat(open.id);
  if (!open.loaded) await chatHistory.newest(open);
  else await chatHistory.catchUp(open);
  if (state.open !== open) return;
  open.list.resendUnconfirmed((pending) => outbox.send(open, pending));
  showSeen($("messages"), chats.chat(open.id), state.me.id);
  reader.mark(open);
  // Marks the chat as live and complete (tests wait for it too).
  $("chat-view").dataset.synced = "true";
  clearNotice();
}

/** The open chat's title, kind and members as the list holds them now. */
function showOpenChat() {
  const chat = chats.chat(state.open.id);
  $("chat-title").textContent = `${chats.label(state.open.id)} · #${state.open.id}`;
  $("chat-kind").textContent = chat?.kind ?? "";
  $("chat-kind").hidden = !chat;
  management.show(chat);
  // Owners and admins of a group may delete anyone's message (CSS shows them Delete).
  const role = chat?.users.find((user) => user.id === state.me.id)?.chatRole;
  $("messages").dataset.moderator = String(chat?.kind === "group"
    && (role === "owner" || role === "admin"));
  showSeen($("messages"), chat, state.me.id);
}

addEventListener("visibilitychange", () => reader.mark(state.open));

$("back").addEventListener("click", () => { $("chat-view").dataset.pane = "list"; });

// ---- sending ------------------------------------------------------------------------------

/** A failed message back in the box, to change and send again (as a new message). */
function editFailed(text) {
  composer.set(text);
  $("message-input").focus();
}

// For debugging from the console (and for the browser test): the live socket.
Object.defineProperty(window, "pipechat", { value: Object.freeze({
  get socket() { return state.socket; },
}) });

if (session.loggedIn) start();
else showAuth();
