// "Seen by": one line under the newest shown message that another member has read, naming
// everyone else who has read that far (from each member's lastReadMessageId, kept current by
// `read` events).

/**
 * Put the line in `messages` (the <ol> whose items carry `data-id`), or take it away when no
 * one else has read a shown message.
 */
export function showSeen(messages, chat, myId) {
  messages.querySelector(".seen")?.remove();
  if (!chat) return;
  const others = chat.users.filter((user) => user.id !== myId && user.lastReadMessageId);
  const newest = Math.max(0, ...others.map((user) => user.lastReadMessageId));
  // The newest saved message at or before the newest marker (a marker may name a message
  // this page has not loaded).
  let target = null;
  for (const item of messages.querySelectorAll("li[data-id]")) {
    const id = Number(item.dataset.id);
    if (id <= newest && (!target || id > Number(target.dataset.id))) target = item;
  }
  if (!target) return;
  const readers = others.filter((user) => user.lastReadMessageId >= Number(target.dataset.id));
  const line = document.createElement("p");
  line.className = "seen";
  line.textContent = `Seen by ${readers.map((user) => user.nickname).join(", ")}`;
  target.append(line);
}
