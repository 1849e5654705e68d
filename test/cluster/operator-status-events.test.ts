// Status and Events of a MiniXdr whose children the API server refuses (an admission policy refuses them, whatever the
// MiniXdr's schema lets through): status is written for the current generation however long the error, a repeated
// failure writes status once, and its retries count on one Event instead of piling up new ones. (That the API server's
// randomly ordered field errors give one message is unit-tested in operator/controller/status.test.ts.)
import { pino } from "pino";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { MiniXdr, MiniXdrSpecInput } from "../../operator/api/minixdr.ts";
import { maxConditionMessageLength } from "../../operator/controller/conditions.ts";
import { resourcePath } from "../../operator/kube/client.ts";
import { describeCluster, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd, startTestOperator, type TestOperator } from "../support/operator.ts";
import { admin, applyMiniXdr, condition, drivenReconciler, getMiniXdr, waitForStatus } from "../support/minixdr.ts";

const minixdr = (namespace: string, name: string, spec: MiniXdrSpecInput): MiniXdr => ({
  apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name, namespace }, spec,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CoreEvent { reason: string; message: string; type: string; count: number; firstTimestamp: string; lastTimestamp: string }

async function eventsOf(namespace: string, name: string): Promise<CoreEvent[]> {
  const list = await admin().call<{ items: CoreEvent[] }>("list", "events", "GET",
    `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.kind=MiniXdr`)}`);
  return list.items;
}

const policyRef = { group: "admissionregistration.k8s.io", version: "v1", plural: "validatingadmissionpolicies" };
const bindingRef = { group: "admissionregistration.k8s.io", version: "v1", plural: "validatingadmissionpolicybindings" };
const deploymentRef = { group: "apps", version: "v1", plural: "deployments" };
const cleanups: (() => Promise<unknown>)[] = [];

/** A ValidatingAdmissionPolicy that refuses, in `namespace`, Deployments whose name starts with `prefix`; active on return. */
async function refuseDeployments(namespace: string, prefix: string, message: string): Promise<void> {
  const name = `minixdr-test-${namespace}-${prefix.replace(/-$/, "")}`;
  await admin().apply(policyRef, "", name, {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: { resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments"] }] },
      validations: [{ expression: `!object.metadata.name.startsWith('${prefix}')`, message }],
    },
  }, { manager: "test-admin" });
  await admin().apply(bindingRef, "", name, {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name },
    spec: { policyName: name, validationActions: ["Deny"], matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } } },
  }, { manager: "test-admin" });
  cleanups.push(() => admin().call("delete", "validatingadmissionpolicybindings", "DELETE", `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${name}`));
  cleanups.push(() => admin().call("delete", "validatingadmissionpolicies", "DELETE", `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`));
  // The API server takes a policy up within a second or so: a dry run shows when it refuses.
  const probe = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: `${prefix}probe`, namespace },
    spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } } };
  await vi.waitFor(async () => {
    const refused = await admin().call("create", "deployments", "POST", `${resourcePath(deploymentRef, namespace)}?dryRun=All`, { body: probe, contentType: "application/json" })
      .then(() => false, (err: unknown) => String(err).includes("refused by policy"));
    if (!refused) throw new Error("the admission policy is not in force yet");
  }, { timeout: 20_000, interval: 200 });
}

describeCluster("operator status and events of failing children", () => {
  const ns = useNamespace("status-events");
  let operator: TestOperator;
  /** The operator's log lines (warn and above). */
  const logs: string[] = [];

  beforeAll(async () => {
    await installMiniXdrCrd();
    operator = await startTestOperator(ns.name, { log: pino({ level: "warn", base: { ns: ns.name } }, { write: (line: string) => void logs.push(line) }) });
  });
  afterAll(async () => {
    await operator?.stop();
    for (const cleanup of cleanups) await cleanup();
  });

  it("writes status for the current generation when a child's apply fails with an error longer than a condition may be", async () => {
    await applyMiniXdr(minixdr(ns.name, "long", {}));
    await waitForStatus(ns.name, "long", (c) => c.status?.observedGeneration === 1);
    // An admission policy refuses this instance's Deployments with a message far longer than a condition may hold
    // (as the API server refuses a Deployment with 64 invalid node label keys of ~900 characters: one error per key).
    await refuseDeployments(ns.name, "long-", `refused by policy: ${"this Deployment may not run in this namespace; ".repeat(1_000)}`);
    await applyMiniXdr(minixdr(ns.name, "long", { detector: { nodeSelector: { pool: "security" } } }));
    const failed = await waitForStatus(ns.name, "long", (c) => c.status?.observedGeneration === 2 && condition(c, "Reconciled")?.reason === "ApplyFailed");
    for (const type of ["Ready", "Reconciled", "Degraded"]) {
      const c = condition(failed, type)!;
      expect(c, type).toMatchObject({ status: type === "Degraded" ? "True" : "False", reason: "ApplyFailed", observedGeneration: 2 });
      expect(c.message.length).toBeLessThanOrEqual(maxConditionMessageLength);
      expect(c.message).toMatch(/^Deployment long-detector: .*denied request: refused by policy: this Deployment .* … \[truncated: \d+ more characters\]$/s);
    }
    // Retries find the same message: the status written once stays as it is, and no status write was refused.
    await sleep(3_000);
    expect((await getMiniXdr(ns.name, "long")).metadata.resourceVersion).toBe(failed.metadata.resourceVersion);
    expect(logs.filter((l) => l.includes("minixdrs/long/status"))).toEqual([]);
  });

  it("keeps one status and one counted Event while the same failure repeats", async () => {
    await refuseDeployments(ns.name, "repeat-", "refused by policy: no detector here");
    await applyMiniXdr(minixdr(ns.name, "repeat", {}));
    const failed = await waitForStatus(ns.name, "repeat", (c) => condition(c, "Degraded")?.reason === "ApplyFailed");
    expect(condition(failed, "Degraded")!.message).toMatch(/^Deployment repeat-detector: .*refused by policy: no detector here$/);
    const from = operator.requests.length;
    // Retries with backoff (0.1 s, 0.2 s, ... doubling): about six in these seconds.
    await sleep(6_000);
    expect((await getMiniXdr(ns.name, "repeat")).metadata.resourceVersion).toBe(failed.metadata.resourceVersion);
    const writes = operator.requests.slice(from).filter((r) => ["create", "update", "patch", "delete"].includes(r.verb));
    expect(writes.filter((r) => r.resource !== "events" && r.resource !== "deployments")).toEqual([]);
    expect(writes.filter((r) => r.resource === "events").map((r) => r.verb)).not.toContain("create");

    const applyFailed = (await eventsOf(ns.name, "repeat")).filter((e) => e.reason === "ApplyFailed");
    expect(applyFailed).toHaveLength(1);
    expect(applyFailed[0]).toMatchObject({ type: "Warning", message: expect.stringMatching(/^Deployment repeat-detector: .*no detector here$/) });
    expect(applyFailed[0]!.count).toBeGreaterThanOrEqual(4);
    expect(Date.parse(applyFailed[0]!.lastTimestamp)).toBeGreaterThan(Date.parse(applyFailed[0]!.firstTimestamp));
  });
});

describeCluster("status written from a cache that is behind the API server", () => {
  const ns = useNamespace("stale");
  beforeAll(installMiniXdrCrd);

  it("is not written: the conditions keep their transition times and no Event repeats", async () => {
    // Paused: a pass applies nothing and only writes status, so the test drives nothing but that write.
    const created = await applyMiniXdr(minixdr(ns.name, "lagging", { paused: true }));
    let cached: MiniXdr = created;
    let clock = "2026-01-01T00:00:00Z";
    const { reconciler, recorded } = drivenReconciler({ miniXdr: () => cached }, () => clock);
    expect(await reconciler.reconcile(`${ns.name}/lagging`)).toEqual({});
    const written = await getMiniXdr(ns.name, "lagging");
    expect(condition(written, "Progressing")).toMatchObject({ status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" });

    // A later pass that still sees the object as it was before that write (its watch is behind).
    clock = "2026-01-01T00:05:00Z";
    cached = created;
    const stalePass = await reconciler.reconcile(`${ns.name}/lagging`);
    const after = await getMiniXdr(ns.name, "lagging");
    expect(condition(after, "Progressing")!.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    expect(after.metadata.resourceVersion).toBe(written.metadata.resourceVersion);
    expect(stalePass).toEqual({ requeueAfterMs: expect.any(Number) });

    // Once the cache has caught up, the pass finds nothing to write.
    cached = written;
    expect(await reconciler.reconcile(`${ns.name}/lagging`)).toEqual({});
    expect((await getMiniXdr(ns.name, "lagging")).metadata.resourceVersion).toBe(written.metadata.resourceVersion);
    expect(recorded).toEqual([]);
  });
});
