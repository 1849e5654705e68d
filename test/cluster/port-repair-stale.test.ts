// Drift repair of a renumbered port when the cached Deployment is one resourceVersion behind: the deployment
// controller writes a Deployment's status right after every template edit (observedGeneration, a new ReplicaSet's
// counts), so the pass that the edit's event starts usually holds a version the API server has already moved past.
import { beforeAll, expect, it } from "vitest";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import type { KubeObject } from "../../operator/kube/client.ts";
import { describeCluster, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd } from "../support/operator.ts";
import { admin, applyMiniXdr, drivenReconciler, getChild, getMiniXdr } from "../support/minixdr.ts";

describeCluster("renumbered port repaired from a cache behind the API server", () => {
  const ns = useNamespace("port-stale");
  beforeAll(installMiniXdrCrd);

  it("restores the port without an ApplyFailed when only the Deployment's status moved on", async () => {
    await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "stale", namespace: ns.name }, spec: {} });
    const stale = new Map<string, KubeObject>();
    let cached: MiniXdr = await getMiniXdr(ns.name, "stale");
    // Children not in `stale` are read from the API server (the reconciler's path for an uncached child).
    const { reconciler, recorded } = drivenReconciler({ miniXdr: () => cached, child: (k, _ns, name) => stale.get(`${k.kind}/${name}`) });
    await reconciler.reconcile(`${ns.name}/stale`).catch(() => undefined);
    cached = await getMiniXdr(ns.name, "stale");
    const path = `/apis/apps/v1/namespaces/${ns.name}/deployments/stale-detector`;
    const rendered = (await getChild("Deployment", ns.name, "stale-detector"))!;
    const ports = (rendered.spec as any).template.spec.containers[0].ports as { name: string; containerPort: number }[];
    const metrics = ports.findIndex((p) => p.name === "metrics");
    // kubectl edit of the container's metrics port.
    await admin().call("patch", "deployments", "PATCH", `${path}?fieldManager=kubectl-edit`, {
      body: [{ op: "replace", path: `/spec/template/spec/containers/0/ports/${metrics}/containerPort`, value: 9191 }], contentType: "application/json-patch+json" });
    // What the operator's cache holds when the edit's event starts a pass ...
    stale.set("Deployment/stale-detector", (await getChild("Deployment", ns.name, "stale-detector"))!);
    // ... and the deployment controller's status write that the API server has by then.
    await admin().call("patch", "deployments", "PATCH", `${path}/status?fieldManager=deployment-controller`, {
      body: { status: { observedGeneration: 2 } }, contentType: "application/merge-patch+json" });
    recorded.length = 0;
    const outcome = await reconciler.reconcile(`${ns.name}/stale`).then(() => "ok", (err: Error) => err.message);
    expect(recorded.filter((e) => e.includes("ApplyFailed"))).toEqual([]);
    expect(outcome).toBe("ok");
    const after = (await getChild("Deployment", ns.name, "stale-detector"))!;
    expect((after.spec as any).template.spec.containers[0].ports).toEqual(ports);
  });

  it("restores the only port of a Service (the console's) someone renumbered", async () => {
    await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "single", namespace: ns.name }, spec: { console: { enabled: true } } });
    let cached: MiniXdr = await getMiniXdr(ns.name, "single");
    const { reconciler, recorded } = drivenReconciler({ miniXdr: () => cached });
    await reconciler.reconcile(`${ns.name}/single`).catch(() => undefined);
    cached = await getMiniXdr(ns.name, "single");
    const rendered = (await getChild("Service", ns.name, "single-console"))!;
    const ports = (rendered.spec as any).ports as object[];
    expect(ports).toHaveLength(1);
    await admin().call("patch", "services", "PATCH", `/api/v1/namespaces/${ns.name}/services/single-console?fieldManager=kubectl-edit`, {
      body: [{ op: "replace", path: "/spec/ports/0/port", value: 8081 }], contentType: "application/json-patch+json" });
    recorded.length = 0;
    const outcome = await reconciler.reconcile(`${ns.name}/single`).then(() => "ok", (err: Error) => err.message);
    expect(recorded.filter((e) => e.includes("ApplyFailed"))).toEqual([]);
    expect(outcome).toBe("ok");
    expect(((await getChild("Service", ns.name, "single-console"))!.spec as any).ports).toEqual(ports);
  });

  it("restores the detector Service's two ports someone swapped", async () => {
    await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "swap", namespace: ns.name }, spec: {} });
    let cached: MiniXdr = await getMiniXdr(ns.name, "swap");
    const { reconciler, recorded } = drivenReconciler({ miniXdr: () => cached });
    await reconciler.reconcile(`${ns.name}/swap`).catch(() => undefined);
    cached = await getMiniXdr(ns.name, "swap");
    const ports = ((await getChild("Service", ns.name, "swap-detector"))!.spec as any).ports as { port: number }[];
    expect(ports).toHaveLength(2);
    await admin().call("patch", "services", "PATCH", `/api/v1/namespaces/${ns.name}/services/swap-detector?fieldManager=kubectl-edit`, {
      body: [{ op: "replace", path: "/spec/ports/0/port", value: ports[1]!.port }, { op: "replace", path: "/spec/ports/1/port", value: ports[0]!.port }], contentType: "application/json-patch+json" });
    recorded.length = 0;
    const outcome = await reconciler.reconcile(`${ns.name}/swap`).then(() => "ok", (err: Error) => err.message);
    expect(recorded.filter((e) => e.includes("ApplyFailed"))).toEqual([]);
    expect(outcome).toBe("ok");
    expect(((await getChild("Service", ns.name, "swap-detector"))!.spec as any).ports).toEqual(ports);
  });
});
