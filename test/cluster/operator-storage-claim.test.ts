// The SQLite claim's spec is immutable after creation (but for a larger request on a bound claim): a spec that changes
// its storage class or shrinks it must not wedge the instance at ApplyFailed; the claim keeps what it has, and says so.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { MiniXdr, MiniXdrSpecInput } from "../../operator/api/minixdr.ts";
import { describeCluster, randomName, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd, startTestOperator, type TestOperator } from "../support/operator.ts";
import { admin, applyMiniXdr, condition, getChild, markDeploymentAvailable, waitForStatus } from "../support/minixdr.ts";

const writeVerbs = new Set(["create", "update", "patch", "delete"]);
const minixdr = (namespace: string, name: string, spec: MiniXdrSpecInput): MiniXdr => ({
  apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name, namespace }, spec,
});

async function warnings(namespace: string, name: string): Promise<{ message: string; count: number }[]> {
  const list = await admin().call<{ items: { reason: string; message: string; count?: number }[] }>("list", "events", "GET",
    `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.kind=MiniXdr,reason=StorageChangeNotApplied`)}`);
  return list.items.map((e) => ({ message: e.message, count: e.count ?? 1 }));
}

const claimSpec = async (ns: string, name: string) => (await getChild("PersistentVolumeClaim", ns, name))!.spec as { storageClassName?: string; resources: { requests: { storage: string } } };

describeCluster("the SQLite claim's immutable fields", () => {
  const ns = useNamespace("claim");
  // A class that allows expansion, as a bound claim's growth needs (the PersistentVolumeClaimResize admission checks it).
  const storageClass = randomName("minixdr-expandable");
  let operator: TestOperator;

  beforeAll(async () => {
    await installMiniXdrCrd();
    await admin().call("create", "storageclasses", "POST", "/apis/storage.k8s.io/v1/storageclasses", {
      body: { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: storageClass }, provisioner: "example.com/none", allowVolumeExpansion: true },
      contentType: "application/json",
    });
    // A short resync: every pass over an instance whose claim cannot take the spec must write nothing.
    operator = await startTestOperator(ns.name, { resyncMs: 1_000 });
  });
  afterAll(async () => {
    await operator?.stop();
    await admin().call("delete", "storageclasses", "DELETE", `/apis/storage.k8s.io/v1/storageclasses/${storageClass}`).catch(() => undefined);
  });

  it("keeps the class and size the claim has, stays reconciled and ready, and says what a new claim would take (once)", async () => {
    const sqlite = (o: { size?: string; storageClassName?: string }) => ({ storage: { sqlite: o } });
    await applyMiniXdr(minixdr(ns.name, "s", sqlite({ size: "1Gi", storageClassName: storageClass })));
    await vi.waitFor(async () => expect(await getChild("PersistentVolumeClaim", ns.name, "s-data")).toBeDefined(), { timeout: 20_000, interval: 200 });
    const uid = (await getChild("PersistentVolumeClaim", ns.name, "s-data"))!.metadata!.uid;
    await markDeploymentAvailable(ns.name, "s-detector");
    await waitForStatus(ns.name, "s", (c) => condition(c, "Ready")?.status === "True");

    const notApplied = async (pattern: RegExp) => {
      const cr = await waitForStatus(ns.name, "s", (c) => condition(c, "Degraded")?.reason === "StorageChangeNotApplied"
        && condition(c, "Degraded")!.observedGeneration === c.metadata.generation && pattern.test(condition(c, "Degraded")!.message));
      expect(condition(cr, "Degraded")!.status).toBe("True");
      expect(condition(cr, "Reconciled")).toMatchObject({ status: "True", reason: "ReconcileSucceeded" });
      expect(condition(cr, "Ready")).toMatchObject({ status: "True", reason: "AllComponentsReady" });
      return condition(cr, "Degraded")!.message;
    };

    // The class changed: the claim keeps its own (the API server refuses any other), and the message says how to change it.
    await applyMiniXdr(minixdr(ns.name, "s", sqlite({ size: "1Gi", storageClassName: "slow" })));
    const changed = await notApplied(/asks for slow/);
    expect(changed).toBe(`PersistentVolumeClaim s-data keeps storage class ${storageClass}: spec.storage.sqlite.storageClassName asks for slow, and a claim's storage class `
      + "cannot change after it is created; a new claim is needed for that: delete PersistentVolumeClaim s-data, which deletes the SQLite data on it, and the operator creates it as the spec says");
    expect((await claimSpec(ns.name, "s-data")).storageClassName).toBe(storageClass);
    // Several resync passes later: no write at all (no apply refused and retried, no Event or status rewritten each pass).
    await new Promise((r) => setTimeout(r, 1_500));
    const from = operator.requests.length;
    await new Promise((r) => setTimeout(r, 4_000));
    expect(operator.requests.slice(from).filter((r) => writeVerbs.has(r.verb))).toEqual([]);
    expect(await warnings(ns.name, "s")).toEqual([{ message: changed, count: 1 }]);

    // The class taken out of the spec (the operator had set it): kept too.
    await applyMiniXdr(minixdr(ns.name, "s", sqlite({ size: "1Gi" })));
    await notApplied(new RegExp(`keeps storage class ${storageClass}: .*asks for no class \\(the cluster's default\\)`));

    // Smaller: a claim cannot shrink.
    await applyMiniXdr(minixdr(ns.name, "s", sqlite({ size: "512Mi", storageClassName: storageClass })));
    await notApplied(/keeps its size 1Gi: spec\.storage\.sqlite\.size asks for 512Mi, and a claim cannot shrink/);
    expect((await claimSpec(ns.name, "s-data")).resources.requests.storage).toBe("1Gi");

    // Larger while the claim is Pending (no kubelet, no provisioner here): the API server refuses any change of an unbound claim.
    await applyMiniXdr(minixdr(ns.name, "s", sqlite({ size: "2Gi", storageClassName: storageClass })));
    await notApplied(/keeps its size 1Gi for now: spec\.storage\.sqlite\.size asks for 2Gi, .*\(it is Pending\); the larger size is applied once it is bound/);
    expect((await claimSpec(ns.name, "s-data")).resources.requests.storage).toBe("1Gi");

    // Bound (as a provisioner would): the growth is applied, and nothing is left to report.
    await admin().call("patch", "persistentvolumeclaims", "PATCH", `/api/v1/namespaces/${ns.name}/persistentvolumeclaims/s-data/status`,
      { body: { status: { phase: "Bound", capacity: { storage: "1Gi" } } }, contentType: "application/merge-patch+json" });
    await vi.waitFor(async () => expect((await claimSpec(ns.name, "s-data")).resources.requests.storage).toBe("2Gi"), { timeout: 20_000, interval: 200 });
    const healthy = await waitForStatus(ns.name, "s", (c) => condition(c, "Degraded")?.reason === "AsExpected");
    expect(condition(healthy, "Reconciled")).toMatchObject({ status: "True", message: `every child matches generation ${healthy.metadata.generation}` });
    expect(condition(healthy, "Ready")?.status).toBe("True");

    // The same claim all along, and one Warning per change not applied, never one per pass.
    expect((await getChild("PersistentVolumeClaim", ns.name, "s-data"))!.metadata!.uid).toBe(uid);
    const all = await warnings(ns.name, "s");
    expect(all).toHaveLength(4);
    expect(all.every((e) => e.count === 1)).toBe(true);
  });

  it("keeps a bound claim's size where its storage class does not allow expansion, and grows it once the class does", async () => {
    const fixedClass = randomName("minixdr-fixed-size");
    const classPath = `/apis/storage.k8s.io/v1/storageclasses/${fixedClass}`;
    await admin().call("create", "storageclasses", "POST", "/apis/storage.k8s.io/v1/storageclasses", {
      body: { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: fixedClass }, provisioner: "example.com/none" },
      contentType: "application/json",
    });
    try {
      const sqlite = (size: string) => ({ storage: { sqlite: { size, storageClassName: fixedClass } } });
      await applyMiniXdr(minixdr(ns.name, "f", sqlite("1Gi")));
      await vi.waitFor(async () => expect(await getChild("PersistentVolumeClaim", ns.name, "f-data")).toBeDefined(), { timeout: 20_000, interval: 200 });
      await admin().call("patch", "persistentvolumeclaims", "PATCH", `/api/v1/namespaces/${ns.name}/persistentvolumeclaims/f-data/status`,
        { body: { status: { phase: "Bound", capacity: { storage: "1Gi" } } }, contentType: "application/merge-patch+json" });
      await markDeploymentAvailable(ns.name, "f-detector");
      await waitForStatus(ns.name, "f", (c) => condition(c, "Ready")?.status === "True");

      // Larger: the API server would refuse it on every pass (the instance stayed at ApplyFailed); the claim keeps its size.
      await applyMiniXdr(minixdr(ns.name, "f", sqlite("2Gi")));
      const cr = await waitForStatus(ns.name, "f", (c) => condition(c, "Degraded")?.reason === "StorageChangeNotApplied" && condition(c, "Degraded")!.observedGeneration === c.metadata.generation);
      expect(condition(cr, "Degraded")!.message).toBe(`PersistentVolumeClaim f-data keeps its size 1Gi: spec.storage.sqlite.size asks for 2Gi, and its storage class ${fixedClass} `
        + "does not allow volume expansion (allowVolumeExpansion is not true); once an administrator sets it, the larger size is applied");
      expect(condition(cr, "Reconciled")).toMatchObject({ status: "True", reason: "ReconcileSucceeded" });
      expect(condition(cr, "Ready")).toMatchObject({ status: "True" });
      expect((await claimSpec(ns.name, "f-data")).resources.requests.storage).toBe("1Gi");
      await new Promise((r) => setTimeout(r, 1_500));
      const from = operator.requests.length;
      await new Promise((r) => setTimeout(r, 3_000));
      expect(operator.requests.slice(from).filter((r) => writeVerbs.has(r.verb))).toEqual([]);

      // The administrator allows expansion: the next pass (a resync) applies the larger size, and nothing is left to report.
      await admin().call("patch", "storageclasses", "PATCH", classPath, { body: { allowVolumeExpansion: true }, contentType: "application/merge-patch+json" });
      await vi.waitFor(async () => expect((await claimSpec(ns.name, "f-data")).resources.requests.storage).toBe("2Gi"), { timeout: 20_000, interval: 200 });
      await waitForStatus(ns.name, "f", (c) => condition(c, "Degraded")?.reason === "AsExpected");
    } finally {
      await admin().call("delete", "storageclasses", "DELETE", classPath).catch(() => undefined);
    }
  });
});
