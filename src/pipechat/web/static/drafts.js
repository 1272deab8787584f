// What the message box is writing besides a plain new message: a reply (the quoted excerpt
// shows above the box until it is sent or cancelled) or an edit of one's own message (its text
// goes into the box; sending saves it with `edit_message`).

import { button, excerpt, part, quote } from "./bubble.js";

export class Draft {
  /** `bar` is the element above the box; `composer` the Composer (its `set(text)`). */
  constructor(bar, composer) {
    this.bar = bar;
    this.composer = composer;
    this.mode = null; // null | {kind: "reply" | "edit", message}
    this.clear();
    composer.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.mode) this.cancel();
    });
  }

  /** × or Escape: back to a new message (an edit's text leaves the box). */
  cancel() {
    if (this.editing()) this.composer.set("");
    this.clear();
  }

  /** Answer `message`: its quote above the box. */
  reply(message) {
    this.mode = { kind: "reply", message };
    this.show("Replying to", quote(this.replyTo()));
  }

  /** Change one's own `message`: its text in the box. */
  edit(message) {
    const previous = this.mode;
    this.mode = { kind: "edit", message };
    this.show("Editing your message", null);
    if (previous?.kind !== "edit" || previous.message.id !== message.id) {
      this.composer.set(message.message);
    }
    this.composer.input.focus();
  }

  /** The quote a pending reply shows (as the server will make it), or null. */
  replyTo() {
    if (this.mode?.kind !== "reply") return null;
    const { id, author, message } = this.mode.message;
    return { id, author, message: excerpt(message ?? ""), deletedAt: null };
  }

  /** The message being edited, or null. */
  editing() { return this.mode?.kind === "edit" ? this.mode.message : null; }

  show(label, content) {
    this.bar.replaceChildren(part("span", "draft-label", label));
    if (content) this.bar.append(content);
    const cancel = button("×", "draft-cancel", () => this.cancel());
    cancel.setAttribute("aria-label", "Cancel");
    this.bar.append(cancel);
    this.bar.hidden = false;
    this.bar.dataset.kind = this.mode.kind;
    this.composer.input.focus();
  }

  /** Back to a plain new message (after sending, cancelling, another chat). */
  clear() {
    this.mode = null;
    this.bar.replaceChildren();
    this.bar.hidden = true;
    delete this.bar.dataset.kind;
  }

  /** The message `id` was deleted: an edit of it cannot be saved; a reply still can. */
  gone(id) {
    if (this.editing()?.id === id) {
      this.composer.set("");
      this.clear();
    }
  }
}
