// How message times and day separators read: the time alone today, with the date otherwise.

const DAY_MS = 24 * 60 * 60 * 1000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** Whole calendar days from `date` to `now` (0 today, 1 yesterday), in local time. */
function daysAgo(date, now) {
  return Math.round((startOfDay(now) - startOfDay(date)) / DAY_MS);
}

function dateText(date, now) {
  const options = { day: "numeric", month: "short" };
  if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
  return date.toLocaleDateString([], options);
}

/** "14:05" today, "3 Mar, 14:05" on another day ("3 Mar 2025, 14:05" in another year). */
export function timeLabel(iso, now = new Date()) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return daysAgo(date, now) === 0 ? time : `${dateText(date, now)}, ${time}`;
}

/** The separator above a day's first message: "Today", "Yesterday" or the date. */
export function dayLabel(iso, now = new Date()) {
  const date = new Date(iso);
  const ago = daysAgo(date, now);
  if (ago === 0) return "Today";
  if (ago === 1) return "Yesterday";
  return dateText(date, now);
}

/** A key that is equal for two times on the same local day. */
export function dayKey(iso) {
  const date = iso ? new Date(iso) : new Date();
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}
