// Searching events kept oldest first (store order: event time, then id).
import type { SecurityEvent } from "./securityEvent.ts";

/** Store order: event time, then id (SQLite's BINARY collation; ids are ASCII). */
export function compareEvents(a: SecurityEvent, b: SecurityEvent): number {
  return a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Index of the first event with time >= `time` (or > `time` when `strictly`), in events oldest first. */
export function firstAtOrAfter(events: readonly SecurityEvent[], time: number, strictly = false): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = events[mid]!.time;
    if (t < time || (strictly && t === time)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
