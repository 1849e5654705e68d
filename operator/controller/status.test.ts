import { describe, expect, it } from "vitest";
import type { Condition, MiniXdr } from "../api/minixdr.ts";
import type { KubeObject } from "../kube/client.ts";
import { maxConditionMessageLength } from "./conditions.ts";
import { computeStatus, stableErrorMessage, type Observation } from "./status.ts";

const cr = (generation: number, conditions: Condition[] = []): MiniXdr => ({
  apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "x", namespace: "ns", generation }, spec: {}, status: { conditions },
});

/** A Deployment as the deployment controller reports it. */
function deployment(o: { replicas?: number; available?: number; updated?: number; observed?: number; generation?: number; deadline?: boolean } = {}): KubeObject {
  const replicas = o.replicas ?? 1;
  return {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x-detector", namespace: "ns", generation: o.generation ?? 1 },
    spec: { replicas },
    status: {
      observedGeneration: o.observed ?? o.generation ?? 1, replicas, updatedReplicas: o.updated ?? replicas,
      readyReplicas: o.available ?? replicas, availableReplicas: o.available ?? replicas,
      conditions: o.deadline ? [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "x-detector-1" has timed out progressing.' }] : [],
    },
  };
}

const observe = (d: KubeObject | undefined, more: Partial<Observation> = {}): Observation => ({
  paused: false, components: [{ component: "detector", deploymentName: "x-detector", deployment: d, image: "img:1", desiredReplicas: 2 }], applyErrors: [], missingApis: [], endpoint: "http://x", ...more,
});

const clock = (t: string) => () => t;
const summary = (conditions: Condition[] = []) => Object.fromEntries(conditions.map((c) => [c.type, `${c.status} ${c.reason}`]));

describe("computeStatus", () => {
  it("reports a reconciled, available instance", () => {
    const status = computeStatus(cr(3), observe(deployment()), clock("t1"));
    expect(summary(status.conditions)).toEqual({
      Degraded: "False AsExpected", Reconciled: "True ReconcileSucceeded", Progressing: "False RolloutComplete", Ready: "True AllComponentsReady",
    });
    expect(status.conditions!.every((c) => c.observedGeneration === 3 && c.lastTransitionTime === "t1")).toBe(true);
    expect(status).toMatchObject({ observedGeneration: 3, replicas: "1/1", detector: { desiredReplicas: 1, readyReplicas: 1, image: "img:1" } });
  });

  it("tells a rollout under way apart from a failure to apply", () => {
    const rolling = computeStatus(cr(1), observe(deployment({ replicas: 2, available: 1, updated: 1 })), clock("t"));
    expect(summary(rolling.conditions)).toMatchObject({ Reconciled: "True ReconcileSucceeded", Progressing: "True WaitingForDeployments", Ready: "False ComponentsNotReady" });
    expect(rolling.conditions!.find((c) => c.type === "Ready")!.message).toBe("Deployment x-detector is rolling out (1/2 available)");

    const failed = computeStatus(cr(1), observe(deployment(), { applyErrors: ["ConfigMap x-config: exists and is not owned by MiniXdr x"] }), clock("t"));
    expect(summary(failed.conditions)).toMatchObject({ Degraded: "True ApplyFailed", Reconciled: "False ApplyFailed", Ready: "False ApplyFailed" });
    expect(failed.conditions!.find((c) => c.type === "Reconciled")!.message).toMatch(/ConfigMap x-config: exists/);
  });

  it("reports a storage change the data claim cannot take as Degraded, with everything applied and the detector ready", () => {
    const note = "PersistentVolumeClaim x-data keeps storage class fast: spec.storage.sqlite.storageClassName asks for slow";
    const status = computeStatus(cr(2), observe(deployment(), { storageNotes: [note] }), clock("t"));
    expect(summary(status.conditions)).toEqual({
      Degraded: "True StorageChangeNotApplied", Reconciled: "True ReconcileSucceeded", Progressing: "False RolloutComplete", Ready: "True AllComponentsReady",
    });
    expect(status.conditions!.find((c) => c.type === "Degraded")!.message).toBe(note);
    expect(status.conditions!.find((c) => c.type === "Reconciled")!.message).toMatch(/except what the data claim cannot change \(see Degraded\)/);
    // A failed apply still gives the reason; the claim's note is not lost behind it.
    const failed = computeStatus(cr(2), observe(deployment(), { storageNotes: [note], applyErrors: ["Service x-detector: refused"] }), clock("t"));
    expect(failed.conditions!.find((c) => c.type === "Degraded")).toMatchObject({ reason: "ApplyFailed", message: `Service x-detector: refused; ${note}` });
  });

  it("counts the replicas the spec asks for while the Deployment is missing, and never calls zero replicas ready", () => {
    // The apply failed: REPLICAS reads 0/2 (what would run), not 0/0.
    const missing = computeStatus(cr(1), observe(undefined, { applyErrors: ["Deployment x-detector: refused"] }), clock("t"));
    expect(missing).toMatchObject({ replicas: "0/2", detector: { desiredReplicas: 2, readyReplicas: 0 } });
    // Scaled to 0 by hand under an autoscaler: nothing runs, so not ready.
    const zero = computeStatus(cr(1), observe(deployment({ replicas: 0 })), clock("t"));
    expect(summary(zero.conditions)).toMatchObject({ Ready: "False ComponentsNotReady" });
    expect(zero.conditions!.find((c) => c.type === "Ready")!.message).toBe("Deployment x-detector is scaled to 0 replicas");
  });

  it("tells an ExternalSecret API the operator may not list (403) apart from one not installed", () => {
    const forbidden = computeStatus(cr(1), observe(deployment(), { forbiddenApis: ["ExternalSecret"] }), clock("t"));
    expect(summary(forbidden.conditions)).toMatchObject({ Degraded: "True ExternalSecretsForbidden", Reconciled: "False ExternalSecretsForbidden" });
    const message = forbidden.conditions!.find((c) => c.type === "Degraded")!.message;
    expect(message).toMatch(/the operator may not list ExternalSecret objects \(403\): its ClusterRole \(config\/rbac\) must allow it/);
    expect(message).not.toMatch(/install external-secrets\.io/);
  });

  it("says so when the cluster's external-secrets serves only an older ExternalSecret version, not that it is not installed", () => {
    const older = computeStatus(cr(1), observe(deployment(), { missingApis: ["ExternalSecret"], otherServedVersions: { ExternalSecret: ["v1beta1", "v1alpha1"] } }), clock("t"));
    expect(summary(older.conditions)).toMatchObject({ Degraded: "True ExternalSecretsNotInstalled" });
    const message = older.conditions!.find((c) => c.type === "Degraded")!.message;
    expect(message).toMatch(/ExternalSecret API external-secrets\.io\/v1 is not served: the API server serves external-secrets\.io v1beta1, v1alpha1 only \(external-secrets older than 0\.16\.2; upgrade it\)/);
    expect(message).not.toMatch(/install external-secrets\.io/);
    // Not served at any version: install it.
    const absent = computeStatus(cr(1), observe(deployment(), { missingApis: ["ExternalSecret"], otherServedVersions: {} }), clock("t"));
    expect(absent.conditions!.find((c) => c.type === "Degraded")!.message).toMatch(/the ExternalSecret API is not installed \(install external-secrets\.io\)/);
  });

  it("waits, without calling it a failure, for an old child of the same name to be deleted", () => {
    const status = computeStatus(cr(1), observe(deployment(), { waitingForDeletion: ["NetworkPolicy x-detector of the same name is still being deleted"] }), clock("t"));
    expect(summary(status.conditions)).toMatchObject({ Degraded: "False AsExpected", Reconciled: "False WaitingForDeletion", Progressing: "True WaitingForDeployments", Ready: "False ComponentsNotReady" });
  });

  it("does not claim the desired version runs while paused", () => {
    const paused = computeStatus(cr(2), observe(deployment(), { paused: "annotation" }), clock("t"));
    expect(summary(paused.conditions)).toMatchObject({ Paused: "True Paused", Reconciled: "False Paused", Progressing: "False Paused", Ready: "True AllComponentsReady" });
  });

  it("names an invalid stored spec (stored before a stricter schema) as the reason", () => {
    const before = computeStatus(cr(3), observe(deployment()), clock("t0"));
    const status = computeStatus({ ...cr(4, before.conditions), status: before }, { paused: false, components: [], applyErrors: ["invalid spec: spec.detector.replicas: must be at most 100"], invalidSpec: true, missingApis: [], endpoint: "http://x" }, clock("t"));
    expect(summary(status.conditions)).toMatchObject({ Degraded: "True InvalidSpec", Reconciled: "False InvalidSpec", Progressing: "False InvalidSpec", Ready: "False InvalidSpec" });
    expect(Object.keys(computeStatus(cr(1), { paused: false, components: [], applyErrors: ["invalid spec: x"], invalidSpec: true, missingApis: [], endpoint: "" }, clock("t"))).sort())
      .toEqual(["conditions", "endpoint", "observedGeneration"]);
    // What was last observed of the components stays in status.
    expect(status).toMatchObject({ observedGeneration: 4, endpoint: "http://x", replicas: "1/1", detector: { readyReplicas: 1, image: "img:1" } });
    expect(status.conditions!.find((c) => c.type === "Ready")!.message).toBe("invalid spec: spec.detector.replicas: must be at most 100");
  });

  it("says an autoscaler that cannot scale is Degraded, naming its reason; one scaling disabled on purpose or at its limits is not", () => {
    const hpa = (conditions: { type: string; status: string; reason: string; message: string }[]): KubeObject => ({
      apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "x-detector", namespace: "ns" }, spec: {}, status: { conditions },
    });
    const noMetrics = hpa([{ type: "AbleToScale", status: "True", reason: "SucceededGetScale", message: "the HPA controller was able to get the target's current scale" },
      { type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric", message: "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API" }]);
    const stuck = computeStatus(cr(2), observe(deployment(), { autoscaler: noMetrics }), clock("t"));
    expect(summary(stuck.conditions)).toMatchObject({ Degraded: "True AutoscalingInactive", Reconciled: "True ReconcileSucceeded", Ready: "True AllComponentsReady" });
    expect(stuck.conditions!.find((c) => c.type === "Degraded")!.message).toMatch(/^HorizontalPodAutoscaler x-detector cannot scale \(ScalingActive=False FailedGetResourceMetric\): the HPA was unable/);
    for (const fine of [
      hpa([{ type: "ScalingActive", status: "False", reason: "ScalingDisabled", message: "scaling is disabled since the replica count of the target is zero" }]),
      hpa([{ type: "AbleToScale", status: "True", reason: "ReadyForNewScale", message: "recommended size matches current size" }, { type: "ScalingActive", status: "True", reason: "ValidMetricFound", message: "ok" },
        { type: "ScalingLimited", status: "True", reason: "TooFewReplicas", message: "the desired replica count is less than the minimum replica count" }]),
      hpa([]),
    ]) expect(summary(computeStatus(cr(2), observe(deployment(), { autoscaler: fine }), clock("t")).conditions).Degraded).toBe("False AsExpected");
  });

  it("says a Deployment that missed its progress deadline is Degraded", () => {
    const status = computeStatus(cr(1), observe(deployment({ available: 0, updated: 0, deadline: true })), clock("t"));
    expect(summary(status.conditions)).toMatchObject({ Degraded: "True DeploymentFailed", Reconciled: "True ReconcileSucceeded", Ready: "False ComponentsNotReady" });
    expect(status.conditions!.find((c) => c.type === "Degraded")!.message).toMatch(/x-detector: ReplicaSet "x-detector-1" has timed out progressing/);
  });

  it("waits for a Deployment the controller has not caught up with", () => {
    const status = computeStatus(cr(1), observe(deployment({ generation: 2, observed: 1 })), clock("t"));
    expect(summary(status.conditions)).toMatchObject({ Progressing: "True WaitingForDeployments", Ready: "False ComponentsNotReady" });
    expect(summary(computeStatus(cr(1), observe(undefined), clock("t")).conditions)).toMatchObject({ Ready: "False ComponentsNotReady" });
  });

  it("reports a missing ExternalSecret API and a pause without calling the rest failed", () => {
    const missing = computeStatus(cr(1), observe(deployment(), { missingApis: ["externalsecrets.external-secrets.io"] }), clock("t"));
    expect(summary(missing.conditions)).toMatchObject({ Degraded: "True ExternalSecretsNotInstalled", Reconciled: "False ExternalSecretsNotInstalled", Ready: "True AllComponentsReady" });
    const paused = computeStatus(cr(1), observe(deployment(), { paused: "annotation" }), clock("t"));
    expect(summary(paused.conditions)).toMatchObject({ Paused: "True Paused", Reconciled: "False Paused" });
    // While paused the spec may name another image than the one running: status shows the one running.
    const running = deployment();
    (running.spec as Record<string, unknown>).template = { spec: { containers: [{ name: "detector", image: "img:0" }] } };
    expect(computeStatus(cr(1), observe(running, { paused: "spec" }), clock("t")).detector?.image).toBe("img:0");
    // Unpaused: the Paused condition goes, rather than staying False.
    expect(summary(computeStatus(cr(2, paused.conditions), observe(deployment()), clock("t")).conditions)).not.toHaveProperty("Paused");
  });

  it("moves lastTransitionTime only when a condition's status changes", () => {
    const first = computeStatus(cr(1), observe(deployment({ available: 0 })), clock("t1"));
    const second = computeStatus(cr(2, first.conditions), observe(deployment({ available: 0, generation: 1 })), clock("t2"));
    const third = computeStatus(cr(2, second.conditions), observe(deployment()), clock("t3"));
    const at = (s: typeof first, type: string) => s.conditions!.find((c) => c.type === type)!;
    expect(at(second, "Ready")).toMatchObject({ status: "False", lastTransitionTime: "t1", observedGeneration: 2 });
    expect(at(third, "Ready")).toMatchObject({ status: "True", lastTransitionTime: "t3" });
    expect(at(third, "Reconciled")).toMatchObject({ status: "True", lastTransitionTime: "t1", message: "every child matches generation 2" });
  });

  it("names a failed apply and a missing ExternalSecret API together, the failure as the reason, in every condition", () => {
    const applyError = 'Deployment x-detector: PATCH /apis/apps/v1/namespaces/ns/deployments/x-detector: 422 Deployment.apps "x-detector" is invalid: spec: Forbidden';
    const status = computeStatus(cr(1), observe(deployment(), { applyErrors: [applyError], missingApis: ["ExternalSecret"] }), clock("t"));
    expect(summary(status.conditions)).toMatchObject({ Degraded: "True ApplyFailed", Reconciled: "False ApplyFailed", Ready: "False ApplyFailed" });
    for (const type of ["Degraded", "Reconciled"]) {
      const message = status.conditions!.find((c) => c.type === type)!.message;
      expect(message).toContain(applyError);
      expect(message).toMatch(/the ExternalSecret API is not installed/);
      expect(message).not.toMatch(/everything else is reconciled/);
    }
    // Only the API missing: everything else is reconciled, but a failed rollout is not hidden either.
    const rollout = computeStatus(cr(1), observe(deployment({ available: 0, updated: 0, deadline: true }), { missingApis: ["ExternalSecret"] }), clock("t"));
    expect(summary(rollout.conditions)).toMatchObject({ Degraded: "True ExternalSecretsNotInstalled", Reconciled: "False ExternalSecretsNotInstalled" });
    expect(rollout.conditions!.find((c) => c.type === "Degraded")!.message).toMatch(/everything else is reconciled; Deployment x-detector: ReplicaSet "x-detector-1" has timed out/);
  });

  it("gives the same message for an API error whose field errors come in another order", () => {
    // requests above limits for cpu and memory: the API server lists the two errors in map order, which varies.
    const prefix = 'Deployment x-detector: PATCH /apis/apps/v1/namespaces/ns/deployments/x-detector: 422 Deployment.apps "x-detector" is invalid: ';
    const cpu = 'spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1';
    const memory = 'spec.template.spec.containers[0].resources.requests: Invalid value: "1Gi": must be less than or equal to memory limit of 512Mi';
    const a = `${prefix}[${cpu}, ${memory}]`;
    const b = `${prefix}[${memory}, ${cpu}]`;
    expect(a).not.toBe(b);
    expect(stableErrorMessage(a)).toBe(stableErrorMessage(b));
    expect(stableErrorMessage(stableErrorMessage(a))).toBe(stableErrorMessage(a));
    const one = computeStatus(cr(1), observe(deployment(), { applyErrors: [a] }), clock("t"));
    const other = computeStatus(cr(1), observe(deployment(), { applyErrors: [b] }), clock("t"));
    expect(other).toEqual(one);
    expect(one.conditions!.find((c) => c.type === "Ready")!.message).toContain(cpu);

    // Details that hold ", " themselves stay whole; three errors in any order give one message.
    const label = 'spec.template.spec.nodeSelector: Invalid value: "a b": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyName\', or \'my.name\', or \'123-abc\', regex used for validation is \'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\')';
    const orders = [[cpu, memory, label], [label, cpu, memory], [memory, label, cpu]].map((o) => stableErrorMessage(`${prefix}[${o.join(", ")}]`));
    expect(new Set(orders).size).toBe(1);
    expect(orders[0]).toContain(label);
    // Anything else is left as it is.
    expect(stableErrorMessage("ConfigMap x-config: exists and is not owned by MiniXdr x")).toBe("ConfigMap x-config: exists and is not owned by MiniXdr x");
    expect(stableErrorMessage(`${prefix}${cpu}`)).toBe(`${prefix}${cpu}`);
  });

  it("bounds every condition message, however long the apply error", () => {
    const huge = `Deployment x-detector: ${"e".repeat(100_000)}`;
    const status = computeStatus(cr(2), observe(deployment(), { applyErrors: [huge, `ConfigMap x-config: ${"c".repeat(50_000)}`] }), clock("t"));
    for (const c of status.conditions!) expect(c.message.length, c.type).toBeLessThanOrEqual(maxConditionMessageLength);
    expect(status.conditions!.find((c) => c.type === "Ready")!.message).toMatch(/truncated: \d+ more characters\]$/);
    expect(status.observedGeneration).toBe(2);
  });
});
