// The SQLite store's per-source event cache must answer every window exactly as a read of the store would.
import { describe, expect, it } from "vitest";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { compareEvents, SourceHistories } from "./sourceHistories.ts";

const ev = (sourceIp: string, id: string, time: number): SecurityEvent => ({
  tenant: "t", id, source: "cowrie", kind: "auth.failure", sourceType: "cowrie.login.failed", time, receivedAt: 0, sourceIp, actor: "",
});

/** A tiny deterministic PRNG, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe("SourceHistories", () => {
  it("answers random windows like the store, through late arrivals, windows moving both ways and eviction", () => {
    const rnd = random(7);
    const store: SecurityEvent[] = [];
    const loads: string[] = [];
    const cache = new SourceHistories(40);
    const load = (ip: string) => (from: number) => {
      loads.push(ip);
      return store.filter((e) => e.sourceIp === ip && e.time >= from).sort(compareEvents);
    };
    const ips = ["a", "b", "c", "d"];
    let n = 0;
    for (let step = 0; step < 2000; step++) {
      if (rnd() < 0.5) {
        // A committed batch: mostly recent times, some late ones, ties on time.
        const batch = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => ev(ips[Math.floor(rnd() * ips.length)]!, `e${n++}`, Math.floor(step + (rnd() < 0.2 ? -rnd() * 300 : 0))));
        store.push(...batch);
        cache.add(batch);
      } else {
        const ip = ips[Math.floor(rnd() * ips.length)]!;
        const from = Math.floor(step - rnd() * 200);
        const to = from + Math.floor(rnd() * 250);
        const want = store.filter((e) => e.sourceIp === ip && e.time >= from && e.time <= to).sort(compareEvents).map((e) => e.id);
        expect(cache.window("t", ip, from, to, load(ip)).map((e) => e.id), `step ${step}: ${ip} [${from}, ${to}]`).toEqual(want);
      }
      expect(cache.cachedEvents).toBeLessThanOrEqual(Math.max(40, ...ips.map((ip) => store.filter((e) => e.sourceIp === ip).length)));
    }
    // The bound forced re-reads (so the answers above include windows rebuilt from the store after an eviction).
    expect(loads.length).toBeGreaterThan(ips.length);
  });

  it("serves a window again without the store, and reads the store when a window reaches back further", () => {
    const store = [ev("a", "x1", 100), ev("a", "x2", 200), ev("a", "x3", 300)];
    let reads = 0;
    const load = (from: number) => {
      reads++;
      return store.filter((e) => e.time >= from);
    };
    const cache = new SourceHistories(100);
    expect(cache.window("t", "a", 150, 400, load).map((e) => e.id)).toEqual(["x2", "x3"]);
    cache.add([ev("a", "x4", 350)]);
    expect(cache.window("t", "a", 200, 400, load).map((e) => e.id)).toEqual(["x2", "x3", "x4"]);
    expect(reads).toBe(1);
    store.push(ev("a", "x4", 350));
    expect(cache.window("t", "a", 0, 400, load).map((e) => e.id)).toEqual(["x1", "x2", "x3", "x4"]);
    expect(reads).toBe(2);
  });

  it("keeps serving part of a sweep over more sources than fit (a pass visits every active source in turn)", () => {
    const sources = Array.from({ length: 10 }, (_, i) => `s${i}`);
    const store = sources.flatMap((ip) => Array.from({ length: 10 }, (_, j) => ev(ip, `${ip}-${j}`, j)));
    let loads = 0;
    const cache = new SourceHistories(50);
    for (let sweep = 0; sweep < 20; sweep++) {
      for (const ip of sources) {
        cache.window("t", ip, 0, 100, (from) => {
          loads++;
          return store.filter((e) => e.sourceIp === ip && e.time >= from);
        });
        expect(cache.cachedEvents).toBeLessThanOrEqual(50);
      }
    }
    // Least-recently-used eviction would miss on every visit (200 loads); random eviction keeps some (about 1 in 5 here).
    expect(loads).toBeLessThan(190);
  });
});
