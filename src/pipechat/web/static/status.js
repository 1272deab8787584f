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

export function reportError(error) {
  notify(error instanceof Error ? error.message : String(error));
}

export function setConnection(kind, detail = "") {
  const badge = $("connection");
  badge.dataset.state = kind;
  badge.textContent = kind;
  badge.title = detail;
}
