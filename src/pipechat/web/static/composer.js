// The message box: refuses what the server would refuse before anything is sent (a blank
// message, one past the server's PIPECHAT_MESSAGE_MAX_LENGTH, a NUL character no database
// stores) and counts down near the limit.

/** Characters as the server counts them (code points, not UTF-16 units). */
export const length = (text) => [...text].length;

const characters = (count) =>
  `${count.toLocaleString()} character${count === 1 ? "" : "s"}`;

export class Composer {
  /** `onSend(text)` gets every message that passes; the box is cleared after it. */
  constructor(form, input, hint, maxLength, onSend) {
    this.form = form;
    this.input = input;
    this.hint = hint;
    this.maxLength = maxLength;
    this.button = form.querySelector("button[type=submit]");
    // The countdown starts with the last tenth of the limit (at least 20 characters).
    this.warnFrom = maxLength - Math.max(20, Math.floor(maxLength / 10));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.problem() !== null) return;
      onSend(input.value);
      this.set("");
      input.focus();
    });
    input.addEventListener("input", () => this.update());
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  /** Why the current text cannot be sent, or null. */
  problem() {
    const text = this.input.value;
    if (!text.trim()) return "empty";
    if (text.includes("\u0000")) return "NUL";
    return length(text) > this.maxLength ? "too long" : null;
  }

  set(text) {
    this.input.value = text;
    this.update();
  }

  update() {
    const used = length(this.input.value);
    const problem = this.problem();
    this.button.disabled = problem !== null;
    this.hint.hidden = used < this.warnFrom && problem !== "NUL";
    this.hint.dataset.state = problem === "too long" || problem === "NUL" ? "over" : "near";
    this.hint.textContent = problem === "NUL" ? "A NUL character cannot be sent: remove it"
      : problem === "too long"
        ? `${characters(used - this.maxLength)} too long (at most ${characters(this.maxLength)})`
        : `${characters(this.maxLength - used)} left`;
  }
}
