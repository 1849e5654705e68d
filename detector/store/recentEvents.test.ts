// The SQLite store's cache of recent events must answer every window exactly as a read of the store would.
import { describe, expect, it } from "vitest";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { compareEvents } from "../events/eventOrder.ts";
import { RecentEvents, type EventReads, type WindowRequest } from "./recentEvents.ts";

const ev = (sourceIp: string, id: string, time: number, tenant = "t"): SecurityEvent => ({
  tenant, id, source: "cowrie", kind: "auth.failure", sourceType: "cowrie.login.failed", time, receivedAt: 0, sourceIp, actor: "",
});

/** A tiny deterministic PRNG, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

/** The store's reads over an array, counting the events each read returns. */
function arrayStore(store: SecurityEvent[]): EventReads & { eventsRead: number; reads: number } {
  const inRange = (tenant: string, from: number, to: number) => store.filter((e) => e.tenant === tenant && e.time >= from && e.time < to);
  const reads = {
    eventsRead: 0,
    reads: 0,
    read(tenant: string, from: number, to: number, sources?: ReadonlySet<string>) {
      const events = inRange(tenant, from, to).filter((e) => !sources || sources.has(e.sourceIp)).sort(compareEvents);
      reads.reads++;
      reads.eventsRead += events.length;
      return events;
    },
    countUpTo: (tenant: string, from: number, to: number, atMost: number) => Math.min(atMost + 1, inRange(tenant, from, to).length),
    timeBefore(tenant: string, before: number, offset: number) {
      return inRange(tenant, -Infinity, before).map((e) => e.time).sort((a, b) => b - a)[offset];
    },
  };
  return reads;
}

const storeWindow = (store: SecurityEvent[], tenant: string, r: WindowRequest) =>
  store.filter((e) => e.tenant === tenant && e.sourceIp === r.sourceIp && e.time >= r.from && e.time <= r.to).sort(compareEvents).map((e) => e.id);

describe("RecentEvents", () => {
  it("answers random windows like the store, through late arrivals, ties, several tenants, passes and eviction", () => {
    const rnd = random(7);
    const store: SecurityEvent[] = [];
    const reads = arrayStore(store);
    const cache = new RecentEvents(40, reads);
    const ips = ["a", "b", "c", "d"];
    const tenants = ["t", "u"];
    let n = 0;
    for (let step = 0; step < 3000; step++) {
      if (rnd() < 0.5) {
        // A committed batch: mostly recent times, some late ones, ties on time.
        const batch = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () =>
          ev(ips[Math.floor(rnd() * ips.length)]!, `e${n++}`, Math.floor(step + (rnd() < 0.2 ? -rnd() * 300 : 0)), tenants[Math.floor(rnd() * 2)]));
        store.push(...batch);
        cache.add(batch);
      } else {
        // A pass: one or two calls, each for some sources of one tenant.
        const tenant = tenants[Math.floor(rnd() * 2)]!;
        for (let call = 0; call < 1 + Math.floor(rnd() * 2); call++) {
          const requests = ips.filter(() => rnd() < 0.6).map((sourceIp) => {
            const from = Math.floor(step - rnd() * 200);
            return { sourceIp, from, to: from + Math.floor(rnd() * 250) };
          });
          const got = cache.windows(tenant, requests);
          requests.forEach((r, i) => expect(got[i]!.map((e) => e.id), `step ${step}: ${tenant}/${r.sourceIp} [${r.from}, ${r.to}]`).toEqual(storeWindow(store, tenant, r)));
        }
        cache.endPass();
      }
      expect(cache.cachedEvents).toBeLessThanOrEqual(40);
    }
    // The bound forced reads from the store, so the answers above include windows reaching before the covered range.
    expect(reads.reads).toBeGreaterThan(100);
  });

  it("serves windows again without the store, and reads only what lies before the covered range", () => {
    const store = [ev("a", "x1", 100), ev("a", "x2", 200), ev("b", "y1", 250), ev("a", "x3", 300)];
    const reads = arrayStore(store);
    const cache = new RecentEvents(100, reads);
    expect(cache.windows("t", [{ sourceIp: "a", from: 150, to: 400 }, { sourceIp: "b", from: 150, to: 400 }]).map((w) => w.map((e) => e.id))).toEqual([["x2", "x3"], ["y1"]]);
    expect(reads.eventsRead).toBe(3);
    // What the metric minixdr_detection_window_events_total reports: three read to fill the cache, three taken from it.
    expect(cache.served).toEqual({ memory: 3, store: 3 });
    const late = ev("a", "x4", 350);
    store.push(late);
    cache.add([late]);
    expect(cache.windows("t", [{ sourceIp: "a", from: 200, to: 400 }])[0]!.map((e) => e.id)).toEqual(["x2", "x3", "x4"]);
    expect(reads.eventsRead).toBe(3);
    // Reaching further back reads just the older part, then keeps it.
    expect(cache.windows("t", [{ sourceIp: "a", from: 0, to: 400 }])[0]!.map((e) => e.id)).toEqual(["x1", "x2", "x3", "x4"]);
    expect(reads.eventsRead).toBe(4);
    expect(cache.windows("t", [{ sourceIp: "a", from: 0, to: 150 }])[0]!.map((e) => e.id)).toEqual(["x1"]);
    expect(reads.eventsRead).toBe(4);
    // x1 was read into the cache (room enough), so the last two calls took all their events from it.
    expect(cache.served).toEqual({ memory: 11, store: 4 });
  });

  it("once full, drops the oldest events; a pass reads what it needs from before them once, or per call when that is large", () => {
    const store: SecurityEvent[] = [];
    const reads = arrayStore(store);
    const cache = new RecentEvents(100, reads, 50);
    const sources = Array.from({ length: 10 }, (_, i) => `s${i}`);
    const all = (from: number, to: number) => sources.map((sourceIp) => ({ sourceIp, from, to }));
    let time = 0;
    const storeUntil = (end: number) => {
      for (; time < end; time++) {
        const batch = sources.map((ip) => ev(ip, `${ip}-${time}`, time));
        store.push(...batch);
        cache.add(batch);
      }
    };
    /** A pass over every source in five calls of two sources, each window reaching back to the start: the store reads it took. */
    const pass = () => {
      const before = reads.reads;
      for (let i = 0; i < 10; i += 2) {
        const requests = all(0, 1000).slice(i, i + 2);
        const got = cache.windows("t", requests);
        requests.forEach((r, j) => expect(got[j]!.map((e) => e.id)).toEqual(storeWindow(store, "t", r)));
      }
      cache.endPass();
      return reads.reads - before;
    };
    cache.windows("t", all(0, 1000));
    storeUntil(12);
    // 120 events against a bound of 100: the oldest went; the 30 or so before the covered range are read once a pass.
    expect(cache.cachedEvents).toBeLessThanOrEqual(100);
    expect(pass()).toBe(1);
    expect(pass()).toBe(1);
    // 300 events: what lies before is more than the 50 a pass may hold, so it is not held; each call reads its own sources'.
    storeUntil(30);
    expect(cache.cachedEvents).toBeLessThanOrEqual(100);
    const eventsBefore = reads.eventsRead;
    expect(pass()).toBe(5);
    expect(reads.eventsRead - eventsBefore).toBeLessThan(300);
  });
});
