import { readFileSync } from "node:fs";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { MiniXdr, MiniXdrSpecInput } from "../../operator/api/minixdr.ts";
import { childKindOf } from "../../operator/render/child-kinds.ts";
import * as k8s from "@kubernetes/client-node";
import { adminConnection, adminKubeConfig, describeCluster, useNamespace } from "../support/cluster.ts";
import { auditLogPath, installMiniXdrCrd, operatorUser, startTestOperator, type TestOperator } from "../support/operator.ts";
import { admin, applyMiniXdr, condition, getChild, markDeploymentAvailable, waitForStatus } from "../support/minixdr.ts";

const wait = { timeout: 20_000, interval: 200 };
const writeVerbs = new Set(["create", "update", "patch", "delete"]);
const minixdr = (namespace: string, name: string, spec: MiniXdrSpecInput, metadata: Partial<MiniXdr["metadata"]> = {}): MiniXdr => ({
  apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name, namespace, ...metadata }, spec,
});
const replicasOf = async (ns: string, name: string) => ((await getChild("Deployment", ns, name))?.spec as { replicas?: number }).replicas;

/** Reasons of the Events recorded on a MiniXdr. */
async function eventReasons(namespace: string, name: string): Promise<string[]> {
  const list = await admin().call<{ items: { reason: string; message: string }[] }>("list", "events", "GET",
    `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.kind=MiniXdr`)}`);
  return list.items.map((e) => `${e.reason}: ${e.message}`);
}

describeCluster("operator lifecycle", () => {
  const ns = useNamespace("lifecycle");
  let operator: TestOperator;
  /** The operator's log lines (warn and above). */
  const logs: string[] = [];

  beforeAll(async () => {
    await installMiniXdrCrd();
    // A short resync proves that periodic passes over an unchanged instance write nothing.
    operator = await startTestOperator(ns.name, { resyncMs: 1_000, log: pino({ level: "warn", base: { ns: ns.name } }, { write: (line: string) => void logs.push(line) }) });
  });
  afterAll(async () => operator?.stop());

  it("never copies the MiniXdr's labels or annotations onto children, and records events for what it creates", async () => {
    await applyMiniXdr(minixdr(ns.name, "labelled", {}, { labels: { "argocd.argoproj.io/instance": "security" }, annotations: { "team": "blue" } }));
    const configMap = await vi.waitFor(async () => {
      const cm = await getChild("ConfigMap", ns.name, "labelled-config");
      if (!cm) throw new Error("ConfigMap labelled-config not created yet");
      return cm;
    }, wait);
    expect(configMap.metadata!.labels).not.toHaveProperty("argocd.argoproj.io/instance");
    expect(configMap.metadata!.annotations ?? {}).not.toHaveProperty("team");
    expect(configMap.metadata!.labels).toMatchObject({ "app.kubernetes.io/instance": "labelled", "app.kubernetes.io/managed-by": "minixdr-operator" });
    await vi.waitFor(async () => expect(await eventReasons(ns.name, "labelled")).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Created: Created Deployment labelled-detector/),
      expect.stringMatching(/^Created: Created Secret labelled-secrets with generated credentials/),
    ])), wait);
  });

  it("restores a hand-edited or deleted child within seconds", async () => {
    await applyMiniXdr(minixdr(ns.name, "drift", {}));
    await vi.waitFor(async () => expect(await getChild("Service", ns.name, "drift-detector")).toBeDefined(), wait);
    const deployment = childKindOf("Deployment");
    await admin().apply(deployment, ns.name, "drift-detector", {
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "drift-detector", namespace: ns.name },
      spec: { template: { spec: { containers: [{ name: "detector", image: "evil.example/miner:1" }] } } },
    }, { manager: "kubectl-edit" });
    await admin().call("delete", "services", "DELETE", `/api/v1/namespaces/${ns.name}/services/drift-detector`);
    await vi.waitFor(async () => {
      const d = await getChild("Deployment", ns.name, "drift-detector");
      expect((d!.spec as any).template.spec.containers[0].image).toBe("ghcr.io/minixdr/minixdr:0.1.0");
      expect(await getChild("Service", ns.name, "drift-detector")).toBeDefined();
    }, { timeout: 10_000, interval: 100 });
    expect(await eventReasons(ns.name, "drift")).toEqual(expect.arrayContaining([expect.stringMatching(/^Updated: Updated Deployment drift-detector \(.*image/)]));
  });

  it("restores a port someone renumbered, on the Service and on the container", async () => {
    await applyMiniXdr(minixdr(ns.name, "ports", {}));
    const portsOf = async (kind: "Service" | "Deployment") => {
      const o = await getChild(kind, ns.name, "ports-detector");
      const spec = o?.spec as any;
      return (kind === "Service" ? spec?.ports : spec?.template.spec.containers[0].ports) as { name: string; port?: number; containerPort?: number }[] | undefined;
    };
    await waitForStatus(ns.name, "ports", (c) => condition(c, "Reconciled")?.status === "True");
    const rendered = { Service: (await portsOf("Service"))!, Deployment: (await portsOf("Deployment"))! };
    // What `kubectl edit` sends for a changed number: a patch under its own field manager.
    const metrics = { Service: rendered.Service.findIndex((p) => p.name === "metrics"), Deployment: rendered.Deployment.findIndex((p) => p.name === "metrics") };
    await admin().call("patch", "services", "PATCH", `/api/v1/namespaces/${ns.name}/services/ports-detector?fieldManager=kubectl-edit`, {
      body: [{ op: "replace", path: `/spec/ports/${metrics.Service}/port`, value: 9191 }], contentType: "application/json-patch+json" });
    await admin().call("patch", "deployments", "PATCH", `/apis/apps/v1/namespaces/${ns.name}/deployments/ports-detector?fieldManager=kubectl-edit`, {
      body: [{ op: "replace", path: `/spec/template/spec/containers/0/ports/${metrics.Deployment}/containerPort`, value: 9191 }], contentType: "application/json-patch+json" });
    await vi.waitFor(async () => {
      expect(await portsOf("Service")).toEqual(rendered.Service);
      expect(await portsOf("Deployment")).toEqual(rendered.Deployment);
    }, { timeout: 10_000, interval: 100 });
    const after = await waitForStatus(ns.name, "ports", (c) => condition(c, "Reconciled")?.status === "True" && condition(c, "Degraded")?.status === "False");
    expect(condition(after, "Reconciled")!.reason).toBe("ReconcileSucceeded");
  });

  it("takes a field removed from the spec off the child (server-side apply drops what it no longer sends)", async () => {
    const pinned = { nodeSelector: { pool: "security" }, tolerations: [{ key: "dedicated", operator: "Equal" as const, value: "security", effect: "NoSchedule" as const }] };
    const podSpec = async () => ((await getChild("Deployment", ns.name, "unpin-detector"))?.spec as any)?.template.spec as Record<string, unknown> | undefined;
    await applyMiniXdr(minixdr(ns.name, "unpin", { detector: pinned }));
    await vi.waitFor(async () => expect((await podSpec())?.nodeSelector).toEqual({ pool: "security" }), wait);
    await applyMiniXdr(minixdr(ns.name, "unpin", {}));
    await vi.waitFor(async () => {
      const spec = await podSpec();
      expect(spec?.nodeSelector).toBeUndefined();
      expect(spec?.tolerations).toBeUndefined();
    }, wait);
    expect(await eventReasons(ns.name, "unpin")).toEqual(expect.arrayContaining([expect.stringMatching(/^Updated: Updated Deployment unpin-detector \(removed fields no longer set by the MiniXdr\)/)]));
  });

  it("never takes over an object of its own that a child's name already belongs to, and says why in status", async () => {
    // Made by someone else (kubectl create), without the operator's labels.
    await admin().call("create", "configmaps", "POST", `/api/v1/namespaces/${ns.name}/configmaps?fieldManager=kubectl-create`,
      { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "taken-config", namespace: ns.name }, data: { owner: "the platform team" } }, contentType: "application/json" });
    await applyMiniXdr(minixdr(ns.name, "taken", {}));
    const status = await waitForStatus(ns.name, "taken", (c) => condition(c, "Degraded")?.reason === "ApplyFailed");
    expect(condition(status, "Degraded")!.message).toMatch(/ConfigMap taken-config: exists and is not owned by MiniXdr taken/);
    expect(condition(status, "Reconciled")).toMatchObject({ status: "False", reason: "ApplyFailed" });
    // The other children are made; the user's ConfigMap is left exactly as it was, with no owner to delete it with.
    await vi.waitFor(async () => expect(await getChild("Service", ns.name, "taken-detector")).toBeDefined(), wait);
    const cm = await getChild("ConfigMap", ns.name, "taken-config");
    expect(cm!.data).toEqual({ owner: "the platform team" });
    expect(cm!.metadata!.ownerReferences ?? []).toEqual([]);
    expect(cm!.metadata!.managedFields!.map((m) => m.manager)).not.toContain("minixdr-operator");
    expect(logs.join("")).toMatch(new RegExp(`"key":"${ns.name}/taken".*"msg":"reconcile failed; retrying with backoff"`));
    // Renamed out of the way: the next retry makes the operator's own.
    await admin().call("delete", "configmaps", "DELETE", `/api/v1/namespaces/${ns.name}/configmaps/taken-config`);
    await vi.waitFor(async () => expect((await getChild("ConfigMap", ns.name, "taken-config"))?.metadata?.ownerReferences?.[0]?.name).toBe("taken"), { timeout: 30_000, interval: 200 });
  });

  it("prunes the children of features that are turned off, but keeps the data volume", async () => {
    const full: MiniXdrSpecInput = {
      console: { enabled: true, disruptionBudget: { enabled: true } },
      detector: { disruptionBudget: { enabled: true } },
    };
    await applyMiniXdr(minixdr(ns.name, "prune", full));
    await vi.waitFor(async () => {
      for (const [kind, name] of [["Deployment", "prune-console"], ["Service", "prune-console"], ["ServiceAccount", "prune-console"],
        ["PodDisruptionBudget", "prune-detector"], ["PodDisruptionBudget", "prune-console"], ["NetworkPolicy", "prune-console"],
        ["NetworkPolicy", "prune-default-deny"], ["PersistentVolumeClaim", "prune-data"]]) {
        expect(await getChild(kind!, ns.name, name!), `${kind} ${name}`).toBeDefined();
      }
    }, wait);
    const generated = await getChild("Secret", ns.name, "prune-secrets");
    expect(generated).toBeDefined();
    // The Secret the detector now mounts is the generated one, named as existingSecret.
    await applyMiniXdr(minixdr(ns.name, "prune", {
      networkPolicy: { enabled: false },
      storage: { type: "postgres", postgres: { urlSecretRef: { name: "db", key: "url" } } },
      secrets: { existingSecret: "prune-secrets" },
    }));
    await vi.waitFor(async () => {
      for (const [kind, name] of [["Deployment", "prune-console"], ["Service", "prune-console"], ["ServiceAccount", "prune-console"],
        ["PodDisruptionBudget", "prune-detector"], ["PodDisruptionBudget", "prune-console"], ["NetworkPolicy", "prune-console"],
        ["NetworkPolicy", "prune-default-deny"], ["NetworkPolicy", "prune-detector"]]) {
        expect(await getChild(kind!, ns.name, name!), `${kind} ${name}`).toBeUndefined();
      }
    }, wait);
    expect(await getChild("PersistentVolumeClaim", ns.name, "prune-data")).toBeDefined();
    // Generated credentials are kept (senders and users hold them), whatever the Secret source turns to.
    expect((await getChild("Secret", ns.name, "prune-secrets"))?.metadata?.uid).toBe(generated!.metadata!.uid);
    expect(await eventReasons(ns.name, "prune")).toEqual(expect.arrayContaining([expect.stringMatching(/^Deleted: Deleted Deployment prune-console: no longer in the spec/)]));
  });

  it("hands replicas to the HorizontalPodAutoscaler without a scale-down, and never fights it", async () => {
    const pg = { type: "postgres" as const, postgres: { urlSecretRef: { name: "db", key: "url" } } };
    await applyMiniXdr(minixdr(ns.name, "hpa", { storage: pg, detector: { replicas: 3 } }));
    await vi.waitFor(async () => expect(await replicasOf(ns.name, "hpa-detector")).toBe(3), wait);

    await applyMiniXdr(minixdr(ns.name, "hpa", { storage: pg, detector: { replicas: 3, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 } } }));
    await vi.waitFor(async () => expect(await getChild("HorizontalPodAutoscaler", ns.name, "hpa-detector")).toBeDefined(), wait);
    // Turning autoscaling on must not reset the Deployment to 1 replica before the HPA acts.
    expect(await replicasOf(ns.name, "hpa-detector")).toBe(3);

    // The HPA controller reports it cannot get metrics (no metrics-server): status says the instance will not scale.
    const hpaConditions = (active: boolean) => admin().apply(childKindOf("HorizontalPodAutoscaler"), ns.name, "hpa-detector", {
      apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "hpa-detector", namespace: ns.name },
      status: { currentReplicas: 3, desiredReplicas: 3, conditions: [
        { type: "AbleToScale", status: "True", reason: "SucceededGetScale", message: "the HPA controller was able to get the target's current scale", lastTransitionTime: new Date().toISOString() },
        active
          ? { type: "ScalingActive", status: "True", reason: "ValidMetricFound", message: "the HPA was able to successfully calculate a replica count from cpu resource utilization", lastTransitionTime: new Date().toISOString() }
          : { type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric", message: "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API", lastTransitionTime: new Date().toISOString() },
      ] },
    }, { subresource: "status", manager: "horizontal-pod-autoscaler" });
    await hpaConditions(false);
    const inactive = await waitForStatus(ns.name, "hpa", (c) => condition(c, "Degraded")?.reason === "AutoscalingInactive");
    expect(condition(inactive, "Degraded")?.message).toMatch(/HorizontalPodAutoscaler hpa-detector cannot scale \(ScalingActive=False FailedGetResourceMetric\)/);
    // Said by a Warning Event too, once (later passes with the same reason say nothing new).
    await vi.waitFor(async () => expect((await eventReasons(ns.name, "hpa")).filter((e) => e.startsWith("AutoscalingInactive: HorizontalPodAutoscaler hpa-detector cannot scale"))).toHaveLength(1), wait);
    await applyMiniXdr(minixdr(ns.name, "hpa", { storage: pg, detector: { replicas: 3, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 }, config: { logLevel: "debug" } } }));
    await waitForStatus(ns.name, "hpa", (c) => c.status?.observedGeneration === c.metadata.generation && condition(c, "Degraded")?.reason === "AutoscalingInactive");
    const inactiveEvents = await admin().call<{ items: { reason: string; count?: number }[] }>("list", "events", "GET",
      `/api/v1/namespaces/${ns.name}/events?fieldSelector=${encodeURIComponent("involvedObject.name=hpa,involvedObject.kind=MiniXdr,reason=AutoscalingInactive")}`);
    expect(inactiveEvents.items.map((e) => e.count ?? 1)).toEqual([1]);
    await hpaConditions(true);
    await waitForStatus(ns.name, "hpa", (c) => condition(c, "Degraded")?.reason === "AsExpected");

    // The HPA scales through the scale subresource; a later spec change rolls the pods but leaves replicas alone.
    await admin().apply(childKindOf("Deployment"), ns.name, "hpa-detector",
      { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "hpa-detector", namespace: ns.name }, spec: { replicas: 5 } },
      { subresource: "scale", manager: "horizontal-pod-autoscaler" });
    await applyMiniXdr(minixdr(ns.name, "hpa", { storage: pg, detector: { replicas: 3, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 }, config: { detection: { bruteForceThreshold: 9 } } } }));
    await vi.waitFor(async () => {
      const d = await getChild("Deployment", ns.name, "hpa-detector");
      expect((d!.spec as any).template.metadata.annotations["xdr.minixdr.io/config-hash"]).toBeDefined();
      const cm = await getChild("ConfigMap", ns.name, "hpa-config");
      expect(JSON.parse((cm!.data as Record<string, string>)["detector.json"]!).detection.bruteForce.threshold).toBe(9);
    }, wait);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await replicasOf(ns.name, "hpa-detector")).toBe(5);

    await applyMiniXdr(minixdr(ns.name, "hpa", { storage: pg, detector: { replicas: 3 } }));
    await vi.waitFor(async () => {
      expect(await getChild("HorizontalPodAutoscaler", ns.name, "hpa-detector")).toBeUndefined();
      expect(await replicasOf(ns.name, "hpa-detector")).toBe(3);
    }, wait);
  });

  it("stops changing children while paused (spec or annotation) and says so in status", async () => {
    await applyMiniXdr(minixdr(ns.name, "pause", {}));
    await vi.waitFor(async () => expect(await getChild("ConfigMap", ns.name, "pause-config")).toBeDefined(), wait);
    const editConfig = (value: string) => admin().apply(childKindOf("ConfigMap"), ns.name, "pause-config",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "pause-config", namespace: ns.name }, data: { "detector.json": value } }, { manager: "kubectl-edit" });
    const configData = async () => ((await getChild("ConfigMap", ns.name, "pause-config"))!.data as Record<string, string>)["detector.json"];

    for (const pause of [{ spec: { paused: true }, metadata: {} }, { spec: {}, metadata: { annotations: { "xdr.minixdr.io/paused": "true" } } }]) {
      await applyMiniXdr(minixdr(ns.name, "pause", pause.spec, pause.metadata));
      const paused = await waitForStatus(ns.name, "pause", (c) => condition(c, "Paused")?.status === "True");
      expect(condition(paused, "Paused")!.message).toMatch(pause.spec.paused ? /spec\.paused is true/ : /annotation xdr\.minixdr\.io\/paused/);
      expect(condition(paused, "Reconciled")).toMatchObject({ status: "False", reason: "Paused" });
      await editConfig("{}");
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await configData()).toBe("{}");

      await applyMiniXdr(minixdr(ns.name, "pause", {}));
      await vi.waitFor(async () => expect(JSON.parse((await configData())!)).toMatchObject({ component: "detector" }), wait);
      const resumed = await waitForStatus(ns.name, "pause", (c) => condition(c, "Paused") === undefined);
      expect(condition(resumed, "Ready")).toBeDefined();
    }
  });

  it("takes over the children of a MiniXdr deleted and created again under its name, without calling them someone else's", async () => {
    const first = await applyMiniXdr(minixdr(ns.name, "again", {}));
    await vi.waitFor(async () => expect(await getChild("NetworkPolicy", ns.name, "again-detector")).toBeDefined(), wait);
    const miniXdrs = { group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs" };
    await admin().delete(miniXdrs, ns.name, "again", first.metadata.uid!);
    const second = await applyMiniXdr(minixdr(ns.name, "again", {}));
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    // Every child ends up the new object's, once the garbage collector has removed the old one's.
    await vi.waitFor(async () => {
      for (const [kind, name] of [["NetworkPolicy", "again-detector"], ["ConfigMap", "again-config"], ["Deployment", "again-detector"], ["Service", "again-detector"]] as const) {
        expect((await getChild(kind, ns.name, name))?.metadata?.ownerReferences?.[0]?.uid, `${kind} ${name}`).toBe(second.metadata.uid);
      }
    }, { timeout: 60_000, interval: 250 });
    // Meanwhile nothing said they were someone else's: no ApplyFailed for the new object, and it is not Degraded.
    const warnings = (await eventReasons(ns.name, "again")).filter((e) => e.startsWith("ApplyFailed"));
    expect(warnings).toEqual([]);
    const status = await waitForStatus(ns.name, "again", (c) => condition(c, "Reconciled")?.status === "True");
    expect(condition(status, "Degraded")?.status).toBe("False");
  });

  it("makes no write request over a quiet period, resyncs included", async () => {
    // Shapes the API server stores differently from how they are written (an empty allow list, pods selected by {},
    // an empty toleration value) once made the operator rewrite a child on every pass.
    await applyMiniXdr(minixdr(ns.name, "quiet", {
      console: { enabled: true },
      networkPolicy: { ingress: { namespaces: [] }, console: { namespaces: [] }, metrics: { podSelector: {} } },
      // Empty strings are rendered as given (a label value, "no storage class"): some are stored, some omitted.
      detector: { tolerations: [{ key: "dedicated", operator: "Equal", value: "", effect: "NoSchedule" }], nodeSelector: { "node-role.kubernetes.io/infra": "" } },
      storage: { type: "sqlite", sqlite: { storageClassName: "" } },
    }));
    await vi.waitFor(async () => expect(await getChild("Deployment", ns.name, "quiet-console")).toBeDefined(), wait);
    // An empty allow list lets nobody in (a rule with no `from` would let everybody in); {} selects every pod here.
    const detectorPolicy = (await getChild("NetworkPolicy", ns.name, "quiet-detector"))!.spec as { ingress: { from?: unknown[]; ports: { port: number }[] }[] };
    expect(detectorPolicy.ingress.map((r) => [r.ports[0]!.port, r.from])).toEqual([
      [8080, [{ podSelector: { matchLabels: { "app.kubernetes.io/instance": "quiet", "app.kubernetes.io/name": "minixdr", "app.kubernetes.io/component": "console" } } }]],
      [9090, [{ podSelector: {} }]],
    ]);
    expect((await getChild("NetworkPolicy", ns.name, "quiet-console"))!.spec).not.toHaveProperty("ingress");
    expect(((await getChild("Deployment", ns.name, "quiet-detector"))!.spec as { template: { spec: { nodeSelector?: unknown } } }).template.spec.nodeSelector).toEqual({ "node-role.kubernetes.io/infra": "" });
    expect(((await getChild("PersistentVolumeClaim", ns.name, "quiet-data"))!.spec as { storageClassName?: string }).storageClassName).toBe("");
    // Someone adds an environment variable and a port without a name with their own field manager: theirs, not a
    // difference to repair.
    await admin().apply(childKindOf("Deployment"), ns.name, "quiet-detector", {
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "quiet-detector", namespace: ns.name },
      spec: { template: { spec: { containers: [{ name: "detector", env: [{ name: "EXTRA", value: "1" }], ports: [{ containerPort: 9229, protocol: "TCP" }] }] } } },
    }, { manager: "kubectl-set-env" });
    await markDeploymentAvailable(ns.name, "quiet-detector");
    await markDeploymentAvailable(ns.name, "quiet-console");
    const ready = await waitForStatus(ns.name, "quiet", (c) => condition(c, "Ready")?.status === "True");
    for (const c of ready.status!.conditions!) {
      expect(Object.keys(c).sort()).toEqual(["lastTransitionTime", "message", "observedGeneration", "reason", "status", "type"]);
      expect(c.observedGeneration).toBe(ready.metadata.generation);
    }
    // Let the events of the rollout settle, then watch a quiet window with several resync passes.
    await new Promise((r) => setTimeout(r, 2_000));
    const from = operator.requests.length;
    const windowStart = new Date();
    await new Promise((r) => setTimeout(r, 6_000));
    const writes = operator.requests.slice(from).filter((r) => writeVerbs.has(r.verb));
    expect(writes).toEqual([]);
    // The API server's own audit log agrees: nothing written by the operator's ServiceAccount in the window.
    const audited = readFileSync(auditLogPath(), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { user: { username: string }; verb: string; stageTimestamp: string; objectRef?: { resource?: string; name?: string } })
      .filter((e) => e.user.username === operatorUser(ns.name) && writeVerbs.has(e.verb) && new Date(e.stageTimestamp) >= windowStart);
    expect(audited.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
    const after = await admin().get<MiniXdr>({ group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs" }, ns.name, "quiet");
    expect(after.metadata.resourceVersion).toBe(ready.metadata.resourceVersion);
  });
});

describeCluster("operator in a namespace being deleted", () => {
  const ns = useNamespace("doomed");

  it("takes the namespace's deletion as the end of its MiniXdrs, not as failures to apply", async () => {
    await installMiniXdrCrd();
    const outcomes: string[] = [];
    // As the cluster admin: the operator's own ServiceAccount would be deleted with the namespace.
    const op = await startTestOperator(ns.name, {
      connection: adminConnection(), resyncMs: 1_000,
      onReconciled: (_key, outcome, _seconds, err) => outcomes.push(err ? `${outcome}: ${(err as Error).message}` : outcome),
    });
    try {
      await applyMiniXdr(minixdr(ns.name, "doomed", {}));
      await vi.waitFor(async () => expect(await getChild("Deployment", ns.name, "doomed-detector")).toBeDefined(), wait);
      const from = outcomes.length;
      const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
      await core.deleteNamespace({ name: ns.name });
      await vi.waitFor(async () => expect(await core.readNamespace({ name: ns.name }).then(() => "present", () => "gone")).toBe("gone"), { timeout: 90_000, interval: 500 });
      expect(outcomes.slice(from).filter((o) => o.startsWith("error"))).toEqual([]);
    } finally {
      await op.stop();
    }
  });
});
