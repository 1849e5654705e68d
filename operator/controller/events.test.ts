import { describe, expect, it } from "vitest";
import type { MiniXdr } from "../api/minixdr.ts";
import { KubeApiError, type KubeClient } from "../kube/client.ts";
import { eventCorrelationWindowMs, KubeEventRecorder } from "./events.ts";

const cr: MiniXdr = { apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "x", namespace: "ns", uid: "u1", generation: 1 }, spec: {} };

/** The Events API as far as the recorder uses it: create, and merge patches of one Event. */
function fakeEvents() {
  const stored = new Map<string, Record<string, unknown>>();
  const requests: string[] = [];
  const client = {
    create(_r: unknown, _ns: string, body: Record<string, unknown> & { metadata: { name: string } }) {
      requests.push("create");
      stored.set(body.metadata.name, structuredClone(body));
      return Promise.resolve(body);
    },
    call(verb: string, _resource: string, _method: string, path: string, opts: { body: Record<string, unknown>; contentType: string }) {
      requests.push(`${verb} ${opts.contentType}`);
      const name = path.split("/").at(-1)!;
      const e = stored.get(name);
      if (!e) return Promise.reject(new KubeApiError(404, "NotFound", `events "${name}" not found`));
      Object.assign(e, opts.body);
      return Promise.resolve(e);
    },
  } as unknown as KubeClient;
  return { client, stored, requests };
}

describe("KubeEventRecorder", () => {
  it("counts a repeated event on one Event instead of writing a new one each time", async () => {
    const { client, stored, requests } = fakeEvents();
    let now = Date.parse("2025-01-01T00:00:00Z");
    const errors: unknown[] = [];
    const recorder = new KubeEventRecorder(client, (err) => errors.push(err), () => now);
    for (let i = 0; i < 5; i++) {
      await recorder.record(cr, "Warning", "ApplyFailed", "Deployment x-detector: refused");
      now += 1_000;
    }
    expect(errors).toEqual([]);
    expect(stored.size).toBe(1);
    expect([...stored.values()][0]).toMatchObject({ count: 5, reason: "ApplyFailed", firstTimestamp: "2025-01-01T00:00:00Z", lastTimestamp: "2025-01-01T00:00:04Z" });
    expect(requests).toEqual(["create", ...Array(4).fill("patch application/merge-patch+json")]);

    // Another message, reason or type is another Event; repeats at the same time are counted, not raced.
    await Promise.all([1, 2, 3].map(() => recorder.record(cr, "Warning", "ApplyFailed", "Service x-detector: refused")));
    await recorder.record(cr, "Normal", "Created", "Created Deployment x-detector");
    expect(stored.size).toBe(3);
    expect([...stored.values()].map((e) => e.count)).toEqual([5, 3, 1]);
  });

  it("starts a new Event after the window, or when the one it counted on is gone", async () => {
    const { client, stored } = fakeEvents();
    let now = 0;
    const recorder = new KubeEventRecorder(client, () => {}, () => now);
    await recorder.record(cr, "Warning", "ApplyFailed", "m");
    now += eventCorrelationWindowMs + 1;
    await recorder.record(cr, "Warning", "ApplyFailed", "m");
    expect([...stored.values()].map((e) => e.count)).toEqual([1, 1]);
    stored.clear();
    now += 1;
    await recorder.record(cr, "Warning", "ApplyFailed", "m");
    expect([...stored.values()].map((e) => e.count)).toEqual([1]);
  });

  it("cuts a long message, and reports a failed write without throwing", async () => {
    const { client, stored } = fakeEvents();
    const recorder = new KubeEventRecorder(client, () => {});
    await recorder.record(cr, "Warning", "ApplyFailed", "x".repeat(5_000));
    expect(([...stored.values()][0]!.message as string).length).toBeLessThanOrEqual(1024);
    const errors: unknown[] = [];
    const failing = new KubeEventRecorder({ create: () => Promise.reject(new Error("forbidden")) } as unknown as KubeClient, (err) => errors.push(err));
    await expect(failing.record(cr, "Normal", "Created", "m")).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
