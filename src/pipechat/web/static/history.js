// The open chat's history over REST: its newest page, older pages ("Load older"), and
// everything after the point up to which it is complete (after a reconnect or a gap), and
// its change log after a seq (when a sync listed only the newest changes).

import { applyChange } from "./amend.js";

const PAGE_SIZE = 30;

export class History {
  /** `current()` is the open chat's entry (or null): late answers for another are dropped. */
  constructor(session, olderButton, current, onError, myId) {
    this.session = session;
    this.myId = myId;
    this.olderButton = olderButton;
    this.current = current;
    olderButton.addEventListener("click", () => this.older().catch(onError));
  }

  /** The newest page, shown at the bottom; "Load older" follows its cursor. */
  isOpen(open) { return this.current() === open; }

  async newest(open) {
    const page = await this.session.get(
      `/chats/${open.id}/messages?order__createdAt=DESC&take=${PAGE_SIZE}`);
    if (!this.isOpen(open)) return;
    open.list.addOlder(page.data);
    open.list.complete(page.data);
    open.loaded = true;
    this.setOlder(open, page.next);
    open.list.scrollToEnd();
  }

  setOlder(open, next) {
    open.olderNext = next;
    this.olderButton.hidden = !next;
  }

  async older() {
    // The button belongs to whichever chat is open; its entry has the cursor.
    const open = this.current();
    if (!open?.olderNext) return;
    const page = await this.session.get(open.olderNext);
    if (!this.isOpen(open)) return;
    open.list.addOlder(page.data);
    this.setOlder(open, page.next);
  }

  /** A `limited` sync: the open chat's changes after `afterSeq`, from its own change log. */
  async changesAfter(open, afterSeq) {
    let url = `/chats/${open.id}/changes?after=${afterSeq}&take=100`;
    while (url && this.isOpen(open)) {
      const page = await this.session.get(url);
      if (!this.isOpen(open)) return;
      page.data.forEach((change) => applyChange(open.list, change, this.myId()));
      url = page.next;
    }
  }

  /** After a reconnect or a gap: everything after the contiguous point, page by page. */
  async catchUp(open) {
    let url = `/chats/${open.id}/messages?order__createdAt=ASC&take=100` +
      `&where__id__more_than=${open.list.contiguousId}`;
    while (url && this.isOpen(open)) {
      const page = await this.session.get(url);
      page.data.forEach((message) => open.list.add(message));
      open.list.complete(page.data);
      url = page.next;
    }
  }
}
