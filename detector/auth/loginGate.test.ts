// The bound on password checks in flight: how many run, how many wait, and that the rest are refused without running.
import { describe, expect, it } from "vitest";
import { LoginGate } from "./loginGate.ts";

/** A check that finishes when the test says so. */
function heldCheck(log: string[], name: string) {
  let finish!: (ok: boolean) => void;
  const done = new Promise<boolean>((resolve) => (finish = resolve));
  return { check: () => (log.push(`start ${name}`), done), finish: (ok = true) => finish(ok) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("LoginGate", () => {
  it("runs two checks at once, queues the next two in order, refuses the fifth without running it", async () => {
    const gate = new LoginGate({ running: 2, waiting: 2 });
    const log: string[] = [];
    const checks = ["a", "b", "c", "d", "e"].map((n) => heldCheck(log, n));
    const results = checks.map((c) => gate.run(c.check));
    await settle();
    expect(log).toEqual(["start a", "start b"]);
    expect(gate.inFlight).toEqual({ running: 2, waiting: 2 });
    expect(await results[4]).toEqual({ admitted: false });

    checks[1]!.finish();
    expect(await results[1]).toEqual({ admitted: true, value: true });
    await settle();
    expect(log).toEqual(["start a", "start b", "start c"]);
    checks[0]!.finish(false);
    checks[2]!.finish();
    await settle();
    expect(log).toEqual(["start a", "start b", "start c", "start d"]);
    checks[3]!.finish();
    expect(await Promise.all(results.slice(0, 4))).toEqual([true, true, true, true].map((_, i) => ({ admitted: true, value: i !== 0 })));
    expect(gate.inFlight).toEqual({ running: 0, waiting: 0 });
    expect(log).not.toContain("start e");
  });

  it("frees the slot of a check that throws, and admits again once the queue has room", async () => {
    const gate = new LoginGate({ running: 1, waiting: 0 });
    const log: string[] = [];
    const held = heldCheck(log, "a");
    const first = gate.run(held.check);
    expect(await gate.run(() => Promise.resolve("b"))).toEqual({ admitted: false });
    const failing = first.then(() => gate.run(() => Promise.reject(new Error("store down"))));
    held.finish();
    await expect(failing).rejects.toThrow("store down");
    expect(gate.inFlight).toEqual({ running: 0, waiting: 0 });
    expect(await gate.run(() => Promise.resolve("c"))).toEqual({ admitted: true, value: "c" });
  });

  it("refuses limits that would admit nothing", () => {
    expect(() => new LoginGate({ running: 0, waiting: 4 })).toThrow(/running >= 1/);
  });
});
