// What the user does to saved messages of the open chat: reply, edit, delete, react. Each is a
// socket request with an acknowledgement; its answer is applied at once (the event that
// follows for every member changes nothing more). The server decides who may do what (an
// edit by the author only, a deletion by the author or a group's owner and admins); a refusal
// shows its message and code.

import { deleted, reacted, updated } from "./amend.js";
import { request } from "./live.js";

/**
 * `view`: {socket(), open() (the open chat's entry or null), myId(), noteSeq(chatId, seq),
 * report(error), done()}; `draft` the Draft above the message box.
 */
export function messageActions(view, draft) {
  const ask = async (event, payload) => {
    if (!view.socket()?.connected) throw new Error("offline: try again once connected");
    return request(view.socket(), event, payload);
  };
  const run = (work) => work().then(view.done, view.report);
  return {
    reply: (message) => draft.reply(message),
    edit: (message) => draft.edit(message),
    remove: (message) => run(async () => {
      const open = view.open();
      const answer = await ask("delete_message", { messageId: message.id });
      view.noteSeq(answer.chatId, answer.seq);
      draft.gone(message.id);
      if (view.open() === open) deleted(open.list, answer.messageId, answer.deletedAt, answer.seq);
    }),
    react: (messageId, emoji, on) => run(async () => {
      const open = view.open();
      const answer = await ask(on ? "add_reaction" : "remove_reaction", { messageId, emoji });
      view.noteSeq(answer.chatId, answer.seq);
      if (view.open() === open) reacted(open.list, answer, on, answer.seq, view.myId());
    }),
  };
}

/** Save the edit the draft holds with `text`; the box is back to a new message after it. */
export async function saveEdit(view, draft, text) {
  const open = view.open();
  const message = draft.editing();
  draft.clear();
  if (text === message.message) return;
  try {
    if (!view.socket()?.connected) throw new Error("offline: try again once connected");
    const saved = await request(view.socket(), "edit_message",
      { messageId: message.id, message: text });
    // The answer's seq is the message's own; the edit's seq comes with message_updated.
    if (view.open() === open) updated(open.list, saved, 0);
    view.done();
  } catch (error) {
    view.report(error);
    // The text is not lost: back in the box, still editing that message.
    if (view.open() === open) {
      draft.edit(message);
      draft.composer.set(text);
    }
  }
}
