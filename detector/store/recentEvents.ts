// The SQLite store's read-through cache of each tenant's recent events, kept by source, so a detection pass takes its
// windows from memory instead of reading and re-parsing bodies. Sound because the SQLite file has exactly one writer
// (this process holds it with an exclusive lock): every committed insert also goes through `add`.
//
// The cache covers a time range per tenant, not per source: every stored event of the tenant with time >= coveredFrom
// is in it. So the store needs no index by source (one would cost a random page per active source on every insert):
// it fills and extends the cache with reads by time, and reads by time, filtered to a pass's sources, what lies before
// the covered range (late events, or history the bound does not let it keep).
import { compareEvents, firstAtOrAfter } from "../events/eventOrder.ts";
import type { SecurityEvent } from "../events/securityEvent.ts";

/** The reads the cache needs from the store; times are event times in ms, ranges are [from, to). */
export interface EventReads {
  /** The tenant's events with from <= time < to in store order; only those of `sources` when given. */
  read(tenant: string, from: number, to: number, sources?: ReadonlySet<string>): SecurityEvent[];
  /**
   * How many of the tenant's events have from <= time < to, counted up to `atMost + 1` (the callers only ask whether
   * the range fits a bound: a count of the whole range scanned every pass all of the history older than the cache).
   */
  countUpTo(tenant: string, from: number, to: number, atMost: number): number;
  /** The time of the tenant's `(offset + 1)`th newest event before `before`, if it has that many. */
  timeBefore(tenant: string, before: number, offset: number): number | undefined;
}

export interface WindowRequest {
  sourceIp: string;
  /** Inclusive bounds. */
  from: number;
  to: number;
}

/** "Nothing covered yet": later than any event time. */
const never = Number.MAX_SAFE_INTEGER;

/** Events read from before a tenant's covered range, kept for the rest of one detection pass. */
interface OlderEvents {
  tenant: string;
  from: number;
  to: number;
  bySource: Map<string, SecurityEvent[]>;
}

interface TenantEvents {
  coveredFrom: number;
  bySource: Map<string, SecurityEvent[]>;
  size: number;
}

export class RecentEvents {
  private readonly tenants = new Map<string, TenantEvents>();
  private size = 0;
  private readonly maxEvents: number;
  private readonly store: EventReads;
  private older: OlderEvents | undefined;
  /** The most older events kept for the rest of a pass (they are memory on top of the bound while the pass runs). */
  private readonly maxOlderEvents: number;

  constructor(maxEvents: number, store: EventReads, maxOlderEvents = Math.floor(maxEvents / 10)) {
    this.maxEvents = maxEvents;
    this.store = store;
    this.maxOlderEvents = maxOlderEvents;
  }

  get cachedEvents(): number {
    return this.size;
  }

  /** Events the windows took from the cache, and events read from the store (to fill the cache or from before it). */
  readonly served = { memory: 0, store: 0 };

  private read(tenant: string, from: number, to: number, sources?: ReadonlySet<string>): SecurityEvent[] {
    const events = this.store.read(tenant, from, to, sources);
    this.served.store += events.length;
    return events;
  }

  /** Each request's events (time within [from, to]) in store order. */
  windows(tenant: string, requests: readonly WindowRequest[]): SecurityEvent[][] {
    if (requests.length === 0) return [];
    let t = this.tenants.get(tenant);
    if (!t) {
      t = { coveredFrom: never, bySource: new Map(), size: 0 };
      this.tenants.set(tenant, t);
    }
    let earliest = Infinity;
    for (const r of requests) earliest = Math.min(earliest, r.from);
    if (earliest < t.coveredFrom) this.extend(tenant, t, earliest);
    const older = this.olderEvents(tenant, t, requests);
    return requests.map((r) => {
      const cached = t.bySource.get(r.sourceIp) ?? [];
      const recent = cached.slice(firstAtOrAfter(cached, r.from), firstAtOrAfter(cached, r.to, true));
      this.served.memory += recent.length;
      if (r.from >= t.coveredFrom) return recent;
      // Older events all come before the covered range, so before every cached one.
      const old = (older.get(r.sourceIp) ?? []).filter((e) => e.time >= r.from && e.time <= r.to);
      return old.length === 0 ? recent : old.concat(recent);
    });
  }

  /**
   * What the requests need from before the covered range. A pass asks for its sources' windows a few dozen sources at a
   * time, all reaching about as far back: the whole range is read once, for every source, and kept until `endPass`
   * (when it is small enough; otherwise each call reads it again, for its own sources only).
   */
  private olderEvents(tenant: string, t: TenantEvents, requests: readonly WindowRequest[]): Map<string, SecurityEvent[]> {
    const reaching = requests.filter((r) => r.from < t.coveredFrom);
    if (reaching.length === 0) return new Map();
    let from = Infinity;
    for (const r of reaching) from = Math.min(from, r.from);
    const kept = this.older;
    if (kept && kept.tenant === tenant && kept.from <= from && kept.to === t.coveredFrom) return kept.bySource;
    const all = this.store.countUpTo(tenant, from, t.coveredFrom, this.maxOlderEvents) <= this.maxOlderEvents;
    const bySource = groupBySource(this.read(tenant, from, t.coveredFrom, all ? undefined : new Set(reaching.map((r) => r.sourceIp))));
    if (all) this.older = { tenant, from, to: t.coveredFrom, bySource };
    return bySource;
  }

  /** Drops what `windows` kept of the older events (call when a detection pass ends). */
  endPass(): void {
    this.older = undefined;
  }

  /**
   * Moves the tenant's covered range back towards `from`, reading what it adds from the store: all the way when it
   * fits in the bound; when it does not, as far as fits, but only while the cache is at most half full (otherwise each
   * pass would read a little more and each insert evict it again).
   */
  private extend(tenant: string, t: TenantEvents, from: number): void {
    const room = this.maxEvents - this.size;
    if (room <= 0) return;
    let start = from;
    if (this.store.countUpTo(tenant, from, t.coveredFrom, room) > room) {
      if (room < this.maxEvents / 2) return;
      const newestLeftOut = this.store.timeBefore(tenant, t.coveredFrom, room);
      if (newestLeftOut === undefined) return;
      start = newestLeftOut + 1;
      if (start >= t.coveredFrom) return;
    }
    const loaded = this.read(tenant, start, t.coveredFrom);
    const n = loaded.length;
    for (const [sourceIp, events] of groupBySource(loaded)) {
      const cached = t.bySource.get(sourceIp);
      t.bySource.set(sourceIp, cached ? events.concat(cached) : events);
    }
    t.coveredFrom = start;
    t.size += n;
    this.size += n;
  }

  /** Records events just committed to the store (each new: the store skipped duplicates). */
  add(events: readonly SecurityEvent[]): void {
    for (const e of events) {
      const t = this.tenants.get(e.tenant);
      if (!t || e.time < t.coveredFrom) continue;
      let list = t.bySource.get(e.sourceIp);
      if (!list) {
        list = [];
        t.bySource.set(e.sourceIp, list);
      }
      // Mostly appends: events arrive roughly in time order.
      if (list.length === 0 || compareEvents(list.at(-1)!, e) <= 0) list.push(e);
      else {
        let i = firstAtOrAfter(list, e.time);
        while (i < list.length && compareEvents(list[i]!, e) < 0) i++;
        list.splice(i, 0, e);
      }
      t.size++;
      this.size++;
    }
    if (this.size > this.maxEvents) this.evict();
  }

  clear(): void {
    this.tenants.clear();
    this.size = 0;
    this.older = undefined;
  }

  /** Drops the oldest events (largest tenant first) until the cache is at 90% of its bound, so eviction is not per insert. */
  private evict(): void {
    const target = Math.floor(this.maxEvents * 0.9);
    while (this.size > target) {
      let t: TenantEvents | undefined;
      for (const c of this.tenants.values()) if (!t || c.size > t.size) t = c;
      if (!t || t.size === 0) return;
      const times = new Float64Array(t.size);
      let i = 0;
      for (const list of t.bySource.values()) for (const e of list) times[i++] = e.time;
      times.sort();
      const drop = Math.min(t.size, this.size - target);
      // Events at the new start time all stay (the range is by time); at least the oldest time always goes.
      const newFrom = drop >= times.length ? times[times.length - 1]! + 1 : Math.max(times[drop]!, times[0]! + 1);
      this.startAt(t, newFrom);
    }
  }

  /** Forgets events the store deleted (pruned); the covered ranges stay: what remains in them is all still cached. */
  remove(events: readonly { tenant: string; id: string; sourceIp: string; time: number }[]): void {
    for (const e of events) {
      const t = this.tenants.get(e.tenant);
      const list = t?.bySource.get(e.sourceIp);
      if (!t || !list) continue;
      let i = firstAtOrAfter(list, e.time);
      while (i < list.length && list[i]!.time === e.time && list[i]!.id !== e.id) i++;
      if (i >= list.length || list[i]!.id !== e.id) continue;
      list.splice(i, 1);
      if (list.length === 0) t.bySource.delete(e.sourceIp);
      t.size--;
      this.size--;
    }
    this.older = undefined;
  }

  /** Moves the tenant's covered range to start at `from`, dropping the cached events before it. */
  private startAt(t: TenantEvents, from: number): void {
    for (const [sourceIp, list] of t.bySource) {
      const n = firstAtOrAfter(list, from);
      if (n === 0) continue;
      if (n === list.length) t.bySource.delete(sourceIp);
      else t.bySource.set(sourceIp, list.slice(n));
      t.size -= n;
      this.size -= n;
    }
    t.coveredFrom = Math.max(t.coveredFrom, from);
  }
}

function groupBySource(events: readonly SecurityEvent[]): Map<string, SecurityEvent[]> {
  const bySource = new Map<string, SecurityEvent[]>();
  for (const e of events) {
    const list = bySource.get(e.sourceIp);
    if (list) list.push(e);
    else bySource.set(e.sourceIp, [e]);
  }
  return bySource;
}
