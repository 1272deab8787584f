// Edits, deletions and reactions applied to the open chat's messages, from live events and
// from the change log (GET /sync, GET /chats/{cid}/changes) alike, as the README's "Catching
// up" says: an edit replaces the text (reactions stay), a deletion leaves a tombstone and turns
// the quotes of it into tombstones, a reaction change sets that emoji's count (and `me` when
// it was the user's). Each change carries its seq; a catch-up may replay changes the page
// already had, or bring older ones after newer live events, so every field remembers the seq
// that last set it and an older change does not overwrite it.

import { excerpt } from "./bubble.js";

/** Whether the change `seq` is newer than what set `field` of message `id`; notes it if so. */
function fresh(list, id, field, seq) {
  const key = `${id}:${field}`;
  if (seq && (list.versions.get(key) ?? 0) >= seq) return false;
  if (seq) list.versions.set(key, seq);
  return true;
}

/** The replies held whose quote is of message `id`: their quote becomes `change(replyTo)`. */
function requote(list, id, change) {
  for (const [replyId, message] of list.data) {
    // A tombstone quote stays one (an edit replayed after the deletion).
    if (message.replyTo?.id !== id || message.replyTo.deletedAt) continue;
    list.data.set(replyId, { ...message, replyTo: { ...message.replyTo, ...change } });
    list.refresh(replyId);
  }
}

/** `message_updated`: the message as it is now, without reactions. */
export function updated(list, message, seq) {
  const held = list.data.get(message.id);
  // A deletion is final: an edit older than it (replayed by a catch-up) changes nothing.
  if (held?.deletedAt || message.deletedAt || !fresh(list, message.id, "text", seq)) return;
  if (held) {
    list.data.set(message.id, { ...held, ...message, reactions: held.reactions });
    list.refresh(message.id);
  }
  // Replies quote the original as it is now, held or not.
  requote(list, message.id, { message: excerpt(message.message ?? "") });
}

/** `message_deleted`: the text gone, a tombstone in its place and in the quotes of it. */
export function deleted(list, messageId, deletedAt, seq) {
  const held = list.data.get(messageId);
  fresh(list, messageId, "text", seq);
  if (held && !held.deletedAt) {
    list.data.set(messageId, { ...held, message: null, deletedAt, reactions: [] });
    list.refresh(messageId);
  }
  requote(list, messageId, { message: null, deletedAt });
}

/** `reaction_added` / `reaction_removed`: that emoji's count is set (0 removes it). */
export function reacted(list, { messageId, userId, emoji, count }, added, seq, myId) {
  const held = list.data.get(messageId);
  if (!held || held.deletedAt || !fresh(list, messageId, `emoji ${emoji}`, seq)) return;
  const reactions = [...(held.reactions ?? [])];
  const at = reactions.findIndex((reaction) => reaction.emoji === emoji);
  const me = userId === myId ? added : Boolean(reactions[at]?.me);
  if (count <= 0) {
    if (at >= 0) reactions.splice(at, 1);
  } else if (at >= 0) {
    reactions[at] = { emoji, count, me };
  } else {
    reactions.push({ emoji, count, me });
  }
  list.data.set(messageId, { ...held, reactions });
  list.refresh(messageId);
}

/**
 * One change of the change log (`{seq, kind, data}`) applied to the open chat's list. A new
 * message is added; one already held is left as it is (the changes after it follow, and one
 * that is "as it is now" could undo a live change newer than the catch-up's read).
 */
export function applyChange(list, { seq, kind, data }, myId) {
  if (!data) return;
  if (kind === "message") list.add(data);
  else if (kind === "message_updated") updated(list, data.message, seq);
  else if (kind === "message_deleted") deleted(list, data.messageId, data.deletedAt, seq);
  else if (kind === "reaction_added") reacted(list, data, true, seq, myId);
  else if (kind === "reaction_removed") reacted(list, data, false, seq, myId);
}
