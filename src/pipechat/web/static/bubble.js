// What a message shows under its author and time: the quote of the message it replies to, its
// text (or the "message deleted" tombstone), its reactions with counts, and its tools (Reply,
// Edit on one's own, Delete on one's own or, for a group's owner and admins, anyone's; CSS
// shows that one). Every user text goes in with textContent.

// The picker's few emoji (any single emoji is accepted by the server; these are offered).
export const PICKER = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
// As the server quotes (messages/views.py): 100 code points, a cut one ending with "…".
const EXCERPT_LENGTH = 100;

/** The quote a reply shows of `text`. */
export function excerpt(text) {
  const points = [...text];
  return points.length <= EXCERPT_LENGTH ? text
    : `${points.slice(0, EXCERPT_LENGTH - 1).join("")}…`;
}

export function part(tag, className, text) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = text;
  return element;
}

export function button(text, className, onClick) {
  const element = part("button", className, text);
  element.type = "button";
  element.addEventListener("click", onClick);
  return element;
}

/** The quoted message: author and excerpt, or its tombstone. */
export function quote(replyTo, onJump) {
  const box = part("blockquote", "quote", "");
  box.dataset.replyTo = replyTo.id;
  const text = replyTo.message === null || replyTo.deletedAt
    ? part("span", "quote-text tombstone", "message deleted")
    : part("span", "quote-text", replyTo.message);
  box.append(part("span", "quote-author", replyTo.author.nickname), text);
  if (onJump) box.addEventListener("click", () => onJump(replyTo.id));
  return box;
}

function reactions(message, act) {
  const bar = part("div", "reactions", "");
  for (const { emoji, count, me } of message.reactions ?? []) {
    const chip = button("", "reaction", () => act.react(message.id, emoji, !me));
    chip.dataset.emoji = emoji;
    chip.setAttribute("aria-pressed", String(Boolean(me)));
    chip.append(part("span", "emoji", emoji), part("span", "count", String(count)));
    bar.append(chip);
  }
  const picker = part("div", "picker", "");
  picker.hidden = true;
  for (const emoji of PICKER) {
    const choice = button(emoji, "pick", () => {
      picker.hidden = true;
      const mine = message.reactions?.some((r) => r.emoji === emoji && r.me);
      if (!mine) act.react(message.id, emoji, true);
    });
    choice.dataset.emoji = emoji;
    picker.append(choice);
  }
  const open = button("☺+", "add-reaction", () => { picker.hidden = !picker.hidden; });
  open.setAttribute("aria-label", "Add a reaction");
  bar.append(open, picker);
  return bar;
}

function tools(message, mine, act) {
  const bar = part("div", "tools", "");
  bar.append(button("Reply", "reply", () => act.reply(message)));
  if (mine) bar.append(button("Edit", "edit-message", () => act.edit(message)));
  // Two clicks: the first asks, the second deletes (a deletion cannot be undone).
  const remove = button("Delete", "delete", () => {
    if (remove.dataset.armed) {
      act.remove(message);
      return;
    }
    remove.dataset.armed = "true";
    remove.textContent = "Delete?";
    setTimeout(() => { delete remove.dataset.armed; remove.textContent = "Delete"; }, 4000);
  });
  bar.append(remove);
  return bar;
}

/**
 * The body of a message: `message` as the server shows it ({id, message, deletedAt, replyTo,
 * reactions}); `act` ({reply, edit, remove, react, jump}) is null for an unsaved message.
 */
export function body(message, mine, act) {
  const box = part("div", "body", "");
  const deleted = Boolean(message.deletedAt) || (message.id && message.message === null);
  if (message.replyTo && !deleted) box.append(quote(message.replyTo, act?.jump));
  box.append(deleted ? part("p", "text tombstone", "message deleted")
    : part("p", "text", message.message));
  if (act && !deleted) box.append(reactions(message, act), tools(message, mine, act));
  return box;
}
