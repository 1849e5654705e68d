// The SQLite store's read-through cache of each tenant+source's recent events, so a detection pass takes its windows
// from memory instead of walking the events index and re-parsing bodies. Sound because the SQLite file has exactly
// one writer (this process holds it with an exclusive lock): every committed insert also goes through `add`.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { evictAtRandom } from "./evictAtRandom.ts";

/** Store order: event time, then id (SQLite's BINARY collation; ids are ASCII). */
export function compareEvents(a: SecurityEvent, b: SecurityEvent): number {
  return a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Index of the first event with time >= `time` (events sorted by `compareEvents`). */
function firstAtOrAfter(events: readonly SecurityEvent[], time: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface History {
  /** Every stored event of the source with time >= coveredFrom is in `events`. */
  coveredFrom: number;
  events: SecurityEvent[];
}

const key = (tenant: string, sourceIp: string) => `${tenant}\u0000${sourceIp}`;

export class SourceHistories {
  /** By tenant and source. */
  private readonly histories = new Map<string, History>();
  private size = 0;
  private readonly maxEvents: number;

  constructor(maxEvents: number) {
    this.maxEvents = maxEvents;
  }

  get cachedEvents(): number {
    return this.size;
  }

  /**
   * The source's events with time in [from, to], oldest first; `load(from)` reads from the store every event of the
   * source with time >= from, in store order, when the cache does not cover `from`.
   */
  window(tenant: string, sourceIp: string, from: number, to: number, load: (from: number) => SecurityEvent[]): SecurityEvent[] {
    const k = key(tenant, sourceIp);
    let h = this.histories.get(k);
    if (!h || from < h.coveredFrom) {
      if (h) this.size -= h.events.length;
      h = { coveredFrom: from, events: load(from) };
      this.size += h.events.length;
      this.histories.set(k, h);
    } else if (from > h.coveredFrom) {
      // Windows move forward with the source's events: what lies before this one is dropped (re-read on demand).
      const drop = firstAtOrAfter(h.events, from);
      if (drop > 0) {
        h.events = h.events.slice(drop);
        this.size -= drop;
      }
      h.coveredFrom = from;
    }
    this.evict(k);
    return h.events.slice(firstAtOrAfter(h.events, from), firstAtOrAfter(h.events, to + 1));
  }

  /** Records events just committed to the store (each new: the store skipped duplicates). */
  add(events: readonly SecurityEvent[]): void {
    for (const e of events) {
      const h = this.histories.get(key(e.tenant, e.sourceIp));
      if (!h || e.time < h.coveredFrom) continue;
      const list = h.events;
      // Mostly appends: events arrive roughly in time order.
      if (list.length === 0 || compareEvents(list.at(-1)!, e) <= 0) list.push(e);
      else {
        let i = firstAtOrAfter(list, e.time);
        while (i < list.length && compareEvents(list[i]!, e) < 0) i++;
        list.splice(i, 0, e);
      }
      this.size++;
    }
    this.evict();
  }

  clear(): void {
    this.histories.clear();
    this.size = 0;
  }

  /** Drops sources at random until the cache is within its bound (never `keep`, the one just read). */
  private evict(keep?: string): void {
    this.size -= evictAtRandom(this.histories, (h) => h.events.length, this.size - this.maxEvents, keep);
  }
}
