// What the server says changed in the user's chats — live management events and the entries
// of a catch-up sync — applied to the chat list and the open chat (its edits, deletions and
// reactions through amend.js).

import { applyChange, deleted, reacted, updated } from "./amend.js";

// Events whose seq is the chat's newest change, not a change of their own.
const NOT_CHANGES = new Set(["read", "chat_hidden"]);

/**
 * `view` is what app.js lets this module touch: {chats (ChatList), myId(), openId(),
 * openList(chatId) (the open chat's MessageList if that chat is open), enterRooms(ids),
 * gone(chatId, text), refreshOpen(chatId), fillOpen(chatId, afterSeq), fetchChat(id),
 * messageGone(messageId), resync()}.
 */
export function followChatEvents(socket, view) {
  const me = () => view.myId();
  // Every event that is a change of a chat carries its seq (messages, management, and kinds
  // this page does not show, such as edits and reactions); `onAny` runs before the handlers.
  socket.onAny((event, payload) => {
    if (!NOT_CHANGES.has(event) && payload?.chatId) noteSeq(view, payload.chatId, payload.seq);
  });
  socket.on("chat_created", (chat) => joined(view, chat));
  socket.on("chat_updated", ({ chat }) => changed(view, chat));
  socket.on("member_added", ({ users, chat }) => {
    if (users.some((user) => user.id === me())) joined(view, chat);
    else changed(view, chat);
  });
  socket.on("member_updated", ({ chatId, userId, role }) => {
    editUsers(view, chatId, (users) => users.map((user) =>
      (user.id === userId ? { ...user, chatRole: role } : user)));
  });
  socket.on("member_removed", ({ chatId, userId, by, reason }) => {
    if (userId !== me()) {
      editUsers(view, chatId, (users) => users.filter((user) => user.id !== userId));
      return;
    }
    const name = view.chats.label(chatId);
    const remover = view.chats.chat(chatId)?.users.find((user) => user.id === by);
    view.gone(chatId, reason === "removed"
      ? `You were removed from “${name}” by ${remover?.nickname ?? `user ${by}`}.`
      : `You left “${name}”.`);
  });
  socket.on("chat_hidden", ({ chatId }) => view.gone(chatId, null));
  // Someone who shares a chat with me came or went: every chat listing them shows it.
  socket.on("presence", ({ userId, online, lastSeenAt }) => {
    for (const chatId of view.chats.ids()) {
      if (!view.chats.chat(chatId)?.users.some((user) => user.id === userId)) continue;
      editUsers(view, chatId, (users) => users.map((user) =>
        (user.id === userId ? { ...user, online, lastSeenAt } : user)));
    }
  });
  followMessageChanges(socket, view);
  socket.on("read", ({ chatId, userId, lastReadMessageId }) => {
    if (userId === me()) {
      ownRead(view, chatId, lastReadMessageId);
      return;
    }
    editUsers(view, chatId, (users) => users.map((user) => (user.id === userId
      ? { ...user, lastReadMessageId: Math.max(user.lastReadMessageId ?? 0, lastReadMessageId) }
      : user)));
  });
}

/** Edits, deletions and reactions of the open chat's messages (other chats: history has them). */
function followMessageChanges(socket, view) {
  const on = (event, apply) => socket.on(event, (payload) => {
    const list = view.openList(payload.chatId);
    if (list) apply(list, payload);
  });
  on("message_updated", (list, { message, seq }) => updated(list, message, seq));
  on("message_deleted", (list, { messageId, deletedAt, seq }) => {
    view.messageGone(messageId);
    deleted(list, messageId, deletedAt, seq);
  });
  on("reaction_added", (list, data) => reacted(list, data, true, data.seq, view.myId()));
  on("reaction_removed", (list, data) => reacted(list, data, false, data.seq, view.myId()));
}

/**
 * An event's place in its chat's change log: the next seq is in order; a larger one means
 * something was missed on the way (a lost event), and the change log fills it in.
 */
export function noteSeq(view, chatId, seq) {
  const held = view.chats.chat(chatId)?.seq;
  if (held === undefined || !seq || seq <= held) return;
  view.chats.update(chatId, () => ({ seq }));
  if (seq > held + 1) view.resync();
}

/** My marker moved (in this tab or another): the badge follows; exact count from the server. */
export function ownRead(view, chatId, lastReadMessageId) {
  view.chats.noteRead(chatId, lastReadMessageId);
  if (view.chats.chat(chatId)?.unreadCount) view.fetchChat(chatId);
}

/** A chat the user is now in: listed first, its room entered. */
function joined(view, chat) {
  if (view.chats.upsert(chat, { top: true })) view.enterRooms([chat.id]);
  // Events carry the chat without my unread count: ask for it.
  view.fetchChat(chat.id);
  view.refreshOpen(chat.id);
}

function changed(view, chat) {
  view.chats.upsert(chat);
  view.refreshOpen(chat.id);
}

function editUsers(view, chatId, edit) {
  view.chats.update(chatId, (chat) => ({ users: edit(chat.users) }));
  view.refreshOpen(chatId);
}

/**
 * The entries of one sync (see sync.js), oldest activity first so the newest ends on top:
 * chats left or removed from go, the others take their state, and the open chat its messages.
 */
export function applySync(view, entries) {
  // As the server ranks them: by newest message; a chat new to the list without one is
  // newer than any (it was made, or the user added, since the last sync).
  const activity = (entry) => entry.chat?.lastMessage?.id
    ?? (view.chats.has(entry.chatId) ? 0 : Number.MAX_SAFE_INTEGER);
  for (const entry of [...entries].sort((a, b) => activity(a) - activity(b))) {
    const { chatId, chat, changes } = entry;
    if (!chat) {
      if (view.chats.has(chatId)) {
        view.gone(chatId, `You are no longer in “${view.chats.label(chatId)}”.`);
      }
      continue;
    }
    if (chat.hidden) {
      view.gone(chatId, null);
      continue;
    }
    const messages = changes.filter((change) => change.kind === "message" && change.data);
    const isNew = !view.chats.has(chatId);
    const held = view.chats.chat(chatId)?.seq ?? 0;
    view.chats.upsert(chat, { top: isNew || messages.length > 0 });
    if (isNew) view.enterRooms([chatId]);
    const list = view.openList(chatId);
    if (list) {
      // In seq order: a later change to a message must come after an earlier one.
      [...changes].sort((a, b) => a.seq - b.seq)
        .forEach((change) => applyChange(list, change, view.myId()));
      // Only the newest changes are listed: the rest from the chat's own change log.
      if (entry.limited) view.fillOpen(chatId, held);
    }
    view.refreshOpen(chatId);
  }
}
