import * as k8s from "@kubernetes/client-node";
import { afterEach, expect, it, vi } from "vitest";
import { KubeClient } from "../../operator/kube/client.ts";
import { LeaderElector, type LeaderElectionOptions } from "../../operator/runtime/leader-election.ts";
import { adminConnection, adminKubeConfig, describeCluster, randomName, useNamespace } from "../support/cluster.ts";

describeCluster("LeaderElector", () => {
  const ns = useNamespace("lease");
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  /** Candidates on one lease that record, at any moment, how many of them believe they lead. */
  function candidates(lease: string, timing: Partial<LeaderElectionOptions>) {
    const state = { leading: new Set<string>(), maxConcurrent: 0, startedAt: new Map<string, number>() };
    const make = (identity: string) => {
      const e = new LeaderElector(new KubeClient(adminConnection()), {
        namespace: ns.name, name: lease, identity, ...timing,
        onStartedLeading: () => {
          state.leading.add(identity);
          state.startedAt.set(identity, Date.now());
          state.maxConcurrent = Math.max(state.maxConcurrent, state.leading.size);
        },
        onStoppedLeading: () => state.leading.delete(identity),
      });
      electors.push(e);
      return e;
    };
    return { state, a: make("candidate-a"), b: make("candidate-b") };
  }

  async function holderOf(lease: string): Promise<string | undefined> {
    const l = await adminKubeConfig().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace: ns.name, name: lease });
    return l.spec?.holderIdentity;
  }

  it("checks the fence again once a write's credentials are ready: a Lease lost while they were fetched stops the write", async () => {
    let lost = false;
    let release!: () => void;
    const fetching = new Promise<void>((r) => (release = r));
    const connection = adminConnection();
    // Credentials that take a while (an exec plugin fetching a token), during which the Lease goes.
    const slow = new Proxy(connection, {
      get: (target, prop, receiver) => (prop === "prepare"
        ? async (method: string, url: URL) => {
          await fetching;
          return target.prepare(method, url);
        }
        : Reflect.get(target, prop, receiver) as unknown),
    });
    const writer = new KubeClient(slow);
    writer.fenceWrites(() => (lost ? "this replica does not hold the leader Lease" : undefined));
    const configMaps = { group: "", version: "v1", plural: "configmaps" };
    const write = writer.create(configMaps, ns.name, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "while-fetching", namespace: ns.name } });
    lost = true;
    release();
    await expect(write).rejects.toThrow(/not sent: this replica does not hold the leader Lease/);
    expect(await new KubeClient(adminConnection()).get(configMaps, ns.name, "while-fetching").catch(() => undefined)).toBeUndefined();
  });

  it("stops a paused leader's writes the moment it resumes past the renew deadline, before its election loop runs", async () => {
    const lease = randomName("paused");
    const { state, a } = candidates(lease, { leaseDurationMs: 3_000, renewDeadlineMs: 1_000, retryPeriodMs: 200 });
    const writer = new KubeClient(adminConnection());
    writer.fenceWrites(() => (a.holdsLease() ? undefined : "this replica does not hold the leader Lease"));
    a.start();
    await vi.waitFor(() => expect(a.isLeader).toBe(true), { timeout: 10_000, interval: 50 });
    const configMaps = { group: "", version: "v1", plural: "configmaps" };
    const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name } });
    await writer.create(configMaps, ns.name, cm("while-leading"));
    expect(a.holdsLease()).toBe(true);
    // The process stops (SIGSTOP, a long GC, a starved CPU) for longer than the renew deadline: no timer runs.
    const until = Date.now() + 1_300;
    while (Date.now() < until) { /* paused */ }
    // Resumed: the election loop has not run yet and still says leading, but the Lease may be another's now.
    expect(a.isLeader).toBe(true);
    expect(a.holdsLease()).toBe(false);
    await expect(writer.create(configMaps, ns.name, cm("after-the-pause"))).rejects.toThrow(/not sent: this replica does not hold the leader Lease/);
    expect(await writer.get(configMaps, ns.name, "after-the-pause").catch(() => undefined)).toBeUndefined();
    // Then the loop steps down, at its next turn.
    await vi.waitFor(() => expect(state.leading.size).toBe(0), { timeout: 5_000, interval: 20 });
  });

  it("never leaves the Lease held by a candidate that released it, however soon after starting", async () => {
    for (let i = 0; i < 5; i++) {
      const lease = randomName("early");
      const { a } = candidates(lease, { leaseDurationMs: 3_000, renewDeadlineMs: 1_000, retryPeriodMs: 200 });
      a.start();
      // Anywhere from before its first request to after its acquisition.
      await new Promise((r) => setTimeout(r, i * 15));
      await a.release();
      expect(await holderOf(lease).catch(() => undefined) ?? "").not.toBe("candidate-a");
    }
  });

  it("lets exactly one of two candidates lead, and the other takes over after the leader dies without releasing", async () => {
    const lease = randomName("crash");
    const leaseDurationMs = 3_000;
    const { state, a, b } = candidates(lease, { leaseDurationMs, renewDeadlineMs: 2_000, retryPeriodMs: 300 });
    a.start();
    b.start();
    await vi.waitFor(() => expect(state.leading.size).toBe(1), { timeout: 10_000, interval: 50 });
    // Several renewals later there is still exactly one leader, and it is the lease's holder.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(state.maxConcurrent).toBe(1);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    expect(leader.isLeader).toBe(true);
    expect(follower.isLeader).toBe(false);
    const leaderId = [...state.leading][0]!;
    expect(await holderOf(lease)).toBe(leaderId);
    expect(follower.leader).toBe(leaderId);

    // A crash: the leader stops renewing and never releases.
    await leader.stop();
    const crashedAt = Date.now();
    await vi.waitFor(() => expect(follower.isLeader).toBe(true), { timeout: leaseDurationMs * 3, interval: 50 });
    const followerId = leaderId === "candidate-a" ? "candidate-b" : "candidate-a";
    // Never before the lease could have expired: the follower waited out a whole lease duration.
    expect(state.startedAt.get(followerId)! - crashedAt).toBeGreaterThanOrEqual(leaseDurationMs - 1_000);
    expect(await holderOf(lease)).toBe(followerId);
    expect(state.maxConcurrent).toBe(1);
  });

  it("hands over at once, long before the lease would expire, when the leader releases", async () => {
    const lease = randomName("release");
    // A lease of 60 s: a takeover within a few seconds can only come from the release.
    const { state, a, b } = candidates(lease, { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 300 });
    a.start();
    await vi.waitFor(() => expect(a.isLeader).toBe(true), { timeout: 10_000, interval: 50 });
    b.start();
    await new Promise((r) => setTimeout(r, 900));
    expect(b.isLeader).toBe(false);

    await a.release();
    expect(a.isLeader).toBe(false);
    await vi.waitFor(() => expect(b.isLeader).toBe(true), { timeout: 10_000, interval: 50 });
    expect(await holderOf(lease)).toBe("candidate-b");
    expect(state.maxConcurrent).toBe(1);
    const l = await adminKubeConfig().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace: ns.name, name: lease });
    expect(l.spec?.leaseTransitions).toBe(1);
  });

  it("steps down when it cannot renew within the renew deadline", async () => {
    const lease = randomName("deadline");
    let stepped = false;
    const e = new LeaderElector(new KubeClient(adminConnection()), {
      namespace: ns.name, name: lease, identity: "lonely", leaseDurationMs: 3_000, renewDeadlineMs: 1_500, retryPeriodMs: 200,
      onStoppedLeading: () => (stepped = true),
    });
    electors.push(e);
    e.start();
    await vi.waitFor(() => expect(e.isLeader).toBe(true), { timeout: 10_000, interval: 50 });
    // Someone else takes the lease over by force; every renewal now loses the optimistic-concurrency race or
    // finds another holder, so the elector must give up leadership instead of believing it still leads.
    const api = adminKubeConfig().makeApiClient(k8s.CoordinationV1Api);
    const current = await api.readNamespacedLease({ namespace: ns.name, name: lease });
    await api.replaceNamespacedLease({ namespace: ns.name, name: lease,
      body: { ...current, spec: { ...current.spec, holderIdentity: "usurper", leaseDurationSeconds: 3600, renewTime: new k8s.V1MicroTime() } } });
    await vi.waitFor(() => expect(stepped).toBe(true), { timeout: 10_000, interval: 50 });
    expect(e.isLeader).toBe(false);
    expect(e.leader).toBe("usurper");
  });
});
