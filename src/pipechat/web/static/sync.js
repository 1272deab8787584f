// The change log: the token of the last sync, and `GET /sync?since=<token>` (all pages) after
// a reconnect, so names, members, removals, unread counts and messages missed while away are
// caught up without reloading every chat.

// No chat has a larger id: the answer lists no chat, only the token of "now".
const NOW = "/sync?take=1&after=9223372036854775807";

export class ChangeLog {
  constructor(session) {
    this.session = session;
    this.token = null;
  }

  forget() { this.token = null; }

  /** Take the token before loading the list: anything after it is caught up by `since`. */
  async start() {
    this.token = (await this.session.get(NOW)).since;
  }

  /**
   * Every chat that changed since the token, all pages: `[{chatId, seq, chat, changes,
   * limited}]`. The token moves on once every page is read (call `commit` after applying).
   */
  async read() {
    if (!this.token) return { entries: [], since: null };
    let url = `/sync?since=${encodeURIComponent(this.token)}&take=100`;
    const entries = [];
    let since = this.token;
    while (url) {
      const page = await this.session.get(url);
      since = page.since;
      entries.push(...page.data);
      url = page.next;
    }
    return { entries, since };
  }

  /** The changes up to `since` are applied: the next sync starts there. */
  commit(since) {
    if (since && this.token) this.token = since;
  }
}
