// The connection badge and the error banner at the top of the page.

const $ = (id) => document.getElementById(id);

export function notify(text) {
  $("notice-text").textContent = text;
  $("notice").hidden = false;
}

/** A later action went through: an earlier error no longer describes the page. */
export function clearNotice() {
  $("notice").hidden = true;
}

/** An error as the user reads it: the server's message, and its code when it has one. */
export function reportError(error) {
  if (!(error instanceof Error)) notify(String(error));
  else notify(error.code ? `${error.message} (code ${error.code})` : error.message);
}

export function setConnection(kind, detail = "") {
  const badge = $("connection");
  badge.dataset.state = kind;
  badge.textContent = kind;
  badge.title = detail;
}
