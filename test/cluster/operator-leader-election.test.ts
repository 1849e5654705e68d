import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { describeCluster, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd, startTestOperator, type TestOperator } from "../support/operator.ts";
import { applyMiniXdr, getChild } from "../support/minixdr.ts";
import type { MiniXdr } from "../../operator/api/minixdr.ts";

const leaseDurationMs = 4_000;

describeCluster("two operator replicas", () => {
  const ns = useNamespace("leader");
  const operators: TestOperator[] = [];

  beforeAll(async () => {
    await installMiniXdrCrd();
    for (const identity of ["replica-a", "replica-b"]) {
      operators.push(await startTestOperator(ns.name, {
        identity,
        leaderElection: { namespace: ns.name, name: "minixdr-operator", leaseDurationMs, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
      }));
    }
  });
  afterAll(async () => {
    for (const o of operators) await o.stop();
  });

  it("only the leader reconciles; when it dies the other takes over within the lease duration", async () => {
    const leader = await vi.waitFor(() => {
      const leading = operators.filter((o) => o.leading);
      expect(leading).toHaveLength(1);
      return leading[0]!;
    }, { timeout: 15_000, interval: 100 });
    const follower = operators.find((o) => o !== leader)!;

    const cr = (name: string): MiniXdr => ({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name, namespace: ns.name }, spec: {} });
    await applyMiniXdr(cr("first"));
    await vi.waitFor(async () => expect(await getChild("Deployment", ns.name, "first-detector")).toBeDefined(), { timeout: 20_000, interval: 200 });
    expect(leader.requests.length).toBeGreaterThan(0);
    expect(follower.requests).toEqual([]);
    expect(follower.controller).toBeUndefined();

    // A crash: the leader stops without releasing its lease, so the follower must wait for it to expire.
    const killedAt = Date.now();
    await leader.stop({ releaseLease: false });
    await vi.waitFor(() => expect(follower.leading).toBe(true), { timeout: leaseDurationMs * 3, interval: 100 });
    const tookOverAfter = Date.now() - killedAt;
    expect(tookOverAfter).toBeLessThan(leaseDurationMs * 2 + 1_000);
    await applyMiniXdr(cr("second"));
    await vi.waitFor(async () => expect(await getChild("Deployment", ns.name, "second-detector")).toBeDefined(), { timeout: 20_000, interval: 200 });
  }, 60_000);
});
