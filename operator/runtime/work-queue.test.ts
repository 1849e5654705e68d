import { describe, expect, it, vi } from "vitest";
import { backoffDelay, WorkQueue, type ReconcileOutcome } from "./work-queue.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("WorkQueue", () => {
  it("reconciles a key queued several times while waiting only once", async () => {
    const gate = deferred();
    const seen: string[] = [];
    const q = new WorkQueue(async (key) => {
      seen.push(key);
      if (key === "ns/blocker") await gate.promise;
    }, { concurrency: 1 });
    q.add("ns/blocker");
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    q.add("ns/a");
    expect(q.depth).toBe(2);
    gate.resolve();
    await vi.waitFor(() => expect(seen).toEqual(["ns/blocker", "ns/a", "ns/b"]));
    await sleep(20);
    expect(seen).toEqual(["ns/blocker", "ns/a", "ns/b"]);
    expect(q.depth).toBe(0);
    await q.shutdown();
  });

  it("runs a key re-added during its reconcile again afterwards, never concurrently with itself", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gate = deferred();
    const q = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await gate.promise;
      running--;
    }, { concurrency: 4 });
    q.add("ns/x");
    await vi.waitFor(() => expect(runs).toBe(1));
    q.add("ns/x");
    q.add("ns/x");
    expect(q.depth).toBe(0);
    await sleep(20);
    expect(runs).toBe(1);
    gate.resolve();
    await vi.waitFor(() => expect(runs).toBe(2));
    await sleep(20);
    expect(runs).toBe(2);
    expect(maxRunning).toBe(1);
    await q.shutdown();
  });

  it("runs at most `concurrency` reconciles at once", async () => {
    let running = 0;
    let maxRunning = 0;
    const done: string[] = [];
    const q = new WorkQueue(async (key) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(15);
      running--;
      done.push(key);
    }, { concurrency: 3 });
    for (let i = 0; i < 10; i++) q.add(`ns/k${i}`);
    await vi.waitFor(() => expect(done).toHaveLength(10));
    expect(maxRunning).toBe(3);
    await q.shutdown();
  });

  it("retries a failing key with growing delays and resets after a success", async () => {
    const attempts: number[] = [];
    const outcomes: ReconcileOutcome[] = [];
    const q = new WorkQueue(() => {
      attempts.push(performance.now());
      return attempts.length <= 3 ? Promise.reject(new Error("boom")) : Promise.resolve();
    }, { baseDelayMs: 20, maxDelayMs: 1_000, onReconciled: (_k, outcome) => outcomes.push(outcome) });
    q.add("ns/flaky");
    await vi.waitFor(() => expect(attempts).toHaveLength(4), { timeout: 2_000 });
    expect(outcomes).toEqual(["error", "error", "error", "success"]);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // Lower bounds only: each retry waits at least its backoff (20, 40, 80 ms).
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    expect(q.failureCount("ns/flaky")).toBe(0);
    await sleep(150);
    expect(attempts).toHaveLength(4);
    await q.shutdown();
  });

  it("computes exponential backoff capped at the maximum", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 100, 1_000))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(0, 100, 1_000)).toBe(0);
    expect(backoffDelay(500, 100, 60_000)).toBe(60_000);
  });

  it("requeues after the delay a reconcile asks for, and addAfter waits before adding", async () => {
    const times: number[] = [];
    const outcomes: ReconcileOutcome[] = [];
    const q = new WorkQueue(() => {
      times.push(performance.now());
      return Promise.resolve(times.length === 1 ? { requeueAfterMs: 60 } : undefined);
    }, { onReconciled: (_k, o) => outcomes.push(o) });
    q.add("ns/r");
    await vi.waitFor(() => expect(times).toHaveLength(2), { timeout: 2_000 });
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(59);
    expect(outcomes).toEqual(["requeue", "success"]);

    const before = performance.now();
    q.addAfter("ns/later", 50);
    expect(q.depth).toBe(0);
    await vi.waitFor(() => expect(times).toHaveLength(3), { timeout: 2_000 });
    expect(times[2]! - before).toBeGreaterThanOrEqual(49);
    await q.shutdown();
  });

  it("keeps the earlier of two pending addAfter calls for a key", async () => {
    let runs = 0;
    const q = new WorkQueue(() => Promise.resolve(void runs++));
    q.addAfter("ns/k", 30);
    q.addAfter("ns/k", 5_000);
    await vi.waitFor(() => expect(runs).toBe(1), { timeout: 1_000 });
    await sleep(50);
    expect(runs).toBe(1);
    await q.shutdown();
  });

  it("shutdown waits for running reconciles, drops pending work and ignores new keys", async () => {
    const gate = deferred();
    const seen: string[] = [];
    const q = new WorkQueue(async (key) => {
      seen.push(key);
      if (key === "ns/slow") await gate.promise;
    });
    q.add("ns/slow");
    q.add("ns/queued");
    q.addAfter("ns/delayed", 10);
    let finished = false;
    const stopped = q.shutdown().then(() => (finished = true));
    q.add("ns/after-shutdown");
    await sleep(30);
    expect(finished).toBe(false);
    gate.resolve();
    await stopped;
    await sleep(20);
    expect(seen).toEqual(["ns/slow"]);
  });
});
