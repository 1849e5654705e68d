import { afterAll, beforeAll, expect, it } from "vitest";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { childKindOf } from "../../operator/render/child-kinds.ts";
import { driftedFields } from "../../operator/controller/drift.ts";
import { render } from "../../operator/render/render.ts";
import { describeCluster, kubectl, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd, startTestOperator, type TestOperator } from "../support/operator.ts";
import { admin, applyMiniXdr, condition, exampleMiniXdr, getChild, markDeploymentAvailable, miniXdrRef, podsOf, waitForStatus } from "../support/minixdr.ts";
import { vi } from "vitest";

describeCluster("examples on a namespace that enforces pod-security restricted", () => {
  const ns = useNamespace("examples", { "pod-security.kubernetes.io/enforce": "restricted" });
  let operator: TestOperator;

  beforeAll(async () => {
    await installMiniXdrCrd();
    operator = await startTestOperator(ns.name);
  });
  afterAll(async () => operator?.stop());

  it.each(["basic.yaml", "staging.yaml"])("%s reaches its golden children, admitted pods and Ready", async (file) => {
    const cr = await applyMiniXdr(exampleMiniXdr(file, ns.name));
    const name = cr.metadata.name;
    // Every rendered child exists and carries every field of the golden rendering.
    const live = await vi.waitFor(async () => {
      const out: MiniXdr = await admin().get(miniXdrRef, ns.name, name);
      for (const child of render(out)) {
        const obj = await getChild(child.object.kind, ns.name, child.object.metadata.name);
        if (!obj) throw new Error(`${child.object.kind} ${child.object.metadata.name} missing`);
        if (!child.createOnly) expect(driftedFields(child.object, obj)).toEqual([]);
      }
      return out;
    }, { timeout: 20_000, interval: 250 });
    expect(condition(await waitForStatus(ns.name, name, (c) => condition(c, "Ready")?.status === "False"), "Progressing"))
      .toMatchObject({ status: "True", reason: "WaitingForDeployments" });

    // The replicaset controller's pods pass pod-security "restricted" admission.
    const deployments = render(live).filter((c) => c.object.kind === "Deployment").map((c) => c.object.metadata.name);
    for (const d of deployments) await markDeploymentAvailable(ns.name, d);
    const ready = await waitForStatus(ns.name, name, (c) => condition(c, "Ready")?.status === "True");
    expect(condition(ready, "Ready")).toMatchObject({ reason: "AllComponentsReady", observedGeneration: ready.metadata.generation });
    expect(condition(ready, "Progressing")).toMatchObject({ status: "False", observedGeneration: ready.metadata.generation });
    expect(condition(ready, "Degraded")).toMatchObject({ status: "False" });
    expect(condition(ready, "Reconciled")).toMatchObject({ status: "True", reason: "ReconcileSucceeded", observedGeneration: ready.metadata.generation });
    expect(ready.status?.observedGeneration).toBe(ready.metadata.generation);
    expect(ready.status?.detector).toMatchObject({ readyReplicas: ready.status?.detector?.desiredReplicas });
    for (const d of deployments) expect((await podsOf(ns.name, d)).length).toBeGreaterThan(0);
    // As kubectl shows the pods: every container ready (the kubelet stand-in reports them as a kubelet would).
    const pods = (await kubectl(["get", "pods", "-n", ns.name, "-l", `app.kubernetes.io/instance=${name}`, "--no-headers"])).stdout.trim().split("\n");
    expect(pods.length).toBeGreaterThan(0);
    for (const line of pods) expect(line).toMatch(/^\S+\s+1\/1\s+Running\s/);

    // What an SRE sees: readiness, whether the latest spec is applied, ready/desired replicas and the reason; -o wide
    // adds the endpoint and image.
    const { stdout } = await kubectl(["get", "minixdr", name, "-n", ns.name, "-o", "wide"]);
    const [header, row] = stdout.trim().split("\n").map((l) => l.trim().split(/\s{2,}/));
    expect(header).toEqual(["NAME", "READY", "RECONCILED", "REPLICAS", "REASON", "AGE", "ENDPOINT", "IMAGE"]);
    const replicas = `${ready.status!.detector!.readyReplicas}/${ready.status!.detector!.desiredReplicas}`;
    expect(row).toEqual([name, "True", "True", replicas, "AllComponentsReady", expect.any(String), `http://${name}-detector.${ns.name}.svc:8080`, "ghcr.io/minixdr/minixdr:0.1.0"]);
  });

  it("gives the pods their spread, priority, registry credentials, labels and annotations as told, and keeps them without drift", async () => {
    const priorityClasses = { group: "scheduling.k8s.io", version: "v1", plural: "priorityclasses" };
    const priorityClass = `${ns.name}-security`;
    await admin().create(priorityClasses, "", { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: priorityClass }, value: 100_000 });
    try {
      const spread = { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", minDomains: 2 };
      const mine = { maxSkew: 2, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { team: "soc" } }, nodeTaintsPolicy: "Honor" };
      const cr = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "placed", namespace: ns.name }, spec: {
        detector: { topologySpreadConstraints: [spread, mine], priorityClassName: priorityClass, imagePullSecrets: [{ name: "registry-credentials" }],
          podLabels: { "example.com/cost-center": "soc-42" }, podAnnotations: { "example.com/owner": "secops@example.com" } },
      } } as MiniXdr);
      await vi.waitFor(async () => {
        const live = await getChild("Deployment", ns.name, "placed-detector");
        const desired = render(await admin().get<MiniXdr>(miniXdrRef, ns.name, cr.metadata.name)).find((c) => c.object.kind === "Deployment")!.object;
        expect(live, "Deployment").toBeDefined();
        expect(driftedFields(desired, live!)).toEqual([]);
      }, { timeout: 20_000, interval: 250 });
      // The pods the replicaset controller makes pass admission (the Priority plugin resolves the class) and count the
      // detector's own pods where the constraint named none.
      const pod = await vi.waitFor(async () => {
        const [p] = await podsOf(ns.name, "placed-detector");
        expect(p).toBeDefined();
        return p!;
      }, { timeout: 20_000, interval: 250 });
      const podSpec = pod.spec as { priorityClassName: string; priority: number; imagePullSecrets: unknown; topologySpreadConstraints: unknown[] };
      expect(podSpec).toMatchObject({ priorityClassName: priorityClass, priority: 100_000, imagePullSecrets: [{ name: "registry-credentials" }] });
      expect(pod.metadata?.labels).toMatchObject({ "example.com/cost-center": "soc-42", "app.kubernetes.io/instance": "placed" });
      expect(pod.metadata?.annotations).toMatchObject({ "example.com/owner": "secops@example.com", "xdr.minixdr.io/config-hash": expect.any(String) });
      expect(podSpec.topologySpreadConstraints).toEqual([
        { ...spread, labelSelector: { matchLabels: { "app.kubernetes.io/name": "minixdr", "app.kubernetes.io/instance": "placed", "app.kubernetes.io/component": "detector" } } },
        mine,
      ]);
      expect(condition(await waitForStatus(ns.name, "placed", (c) => condition(c, "Reconciled")?.status === "True"), "Reconciled"))
        .toMatchObject({ reason: "ReconcileSucceeded" });
    } finally {
      await admin().call("delete", "priorityclasses", "DELETE", `/apis/scheduling.k8s.io/v1/priorityclasses/${priorityClass}`).catch(() => undefined);
    }
  });

  it("removes every child when the MiniXdr is deleted (garbage collection, no finalizer)", { timeout: 60_000 }, async () => {
    const cr = await applyMiniXdr({ ...exampleMiniXdr("basic.yaml", ns.name), metadata: { name: "doomed", namespace: ns.name } });
    await vi.waitFor(async () => expect(await getChild("Deployment", ns.name, "doomed-detector")).toBeDefined(), { timeout: 20_000, interval: 250 });
    const stored: MiniXdr = await admin().get(miniXdrRef, ns.name, "doomed");
    expect(stored.metadata).not.toHaveProperty("finalizers");
    await admin().call("delete", "minixdrs", "DELETE", `/apis/xdr.minixdr.io/v1alpha1/namespaces/${ns.name}/minixdrs/${cr.metadata.name}`);
    await vi.waitFor(async () => {
      for (const child of render({ ...stored, metadata: { ...stored.metadata } })) {
        expect(await getChild(child.object.kind, ns.name, child.object.metadata.name), `${child.object.kind} ${child.object.metadata.name}`).toBeUndefined();
      }
    }, { timeout: 30_000, interval: 500 });
    expect(childKindOf("PersistentVolumeClaim").retainOnPrune).toBe(true);
  });
});
