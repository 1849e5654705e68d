// `kubectl delete minixdr s --cascade=orphan` then applying it again (a GitOps tool recreating it): the children it left,
// still labelled as the instance's and owned by nothing, are adopted with their data; nothing else is ever taken over.
import { pino } from "pino";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { isNotFound } from "../../operator/kube/client.ts";
import { describeCluster, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd, startTestOperator, type TestOperator } from "../support/operator.ts";
import { admin, applyMiniXdr, condition, getChild, getMiniXdr, markDeploymentAvailable, miniXdrRef, waitForStatus } from "../support/minixdr.ts";

const wait = { timeout: 30_000, interval: 200 };
const minixdr = (namespace: string, name: string): MiniXdr => ({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name, namespace }, spec: {} });
const children = (name: string) => [["ServiceAccount", `${name}-detector`], ["ConfigMap", `${name}-config`], ["Secret", `${name}-secrets`],
  ["PersistentVolumeClaim", `${name}-data`], ["Service", `${name}-detector`], ["Deployment", `${name}-detector`],
  ["NetworkPolicy", `${name}-default-deny`], ["NetworkPolicy", `${name}-detector`]] as const;

async function eventReasons(namespace: string, name: string): Promise<string[]> {
  const list = await admin().call<{ items: { reason: string; message: string }[] }>("list", "events", "GET",
    `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.kind=MiniXdr`)}`);
  return list.items.map((e) => `${e.reason}: ${e.message}`);
}

async function deleteOrphaning(namespace: string, name: string): Promise<void> {
  await admin().call("delete", "minixdrs", "DELETE", `/apis/${miniXdrRef.group}/${miniXdrRef.version}/namespaces/${namespace}/minixdrs/${name}`,
    { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Orphan" }, contentType: "application/json" });
  await vi.waitFor(async () => {
    const err = await getMiniXdr(namespace, name).then(() => undefined, (e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
  }, wait);
}

describeCluster("adopting the children of a MiniXdr deleted with --cascade=orphan", () => {
  const ns = useNamespace("adopt");
  let operator: TestOperator;

  beforeAll(async () => {
    await installMiniXdrCrd();
    // The refusals below are logged as errors on every retry: expected here, and noise in the test's output.
    operator = await startTestOperator(ns.name, { log: pino({ level: "fatal" }) });
  });
  afterAll(async () => operator?.stop());

  it("adopts them when the MiniXdr comes back: same claim, same credentials, reconciled and ready", async () => {
    const first = await applyMiniXdr(minixdr(ns.name, "s"));
    await vi.waitFor(async () => {
      for (const [kind, name] of children("s")) expect((await getChild(kind, ns.name, name))?.metadata?.ownerReferences?.[0]?.uid, `${kind} ${name}`).toBe(first.metadata.uid);
    }, wait);
    await markDeploymentAvailable(ns.name, "s-detector");
    await waitForStatus(ns.name, "s", (c) => condition(c, "Ready")?.status === "True");
    const secret = (await getChild("Secret", ns.name, "s-secrets"))!;
    const claim = (await getChild("PersistentVolumeClaim", ns.name, "s-data"))!;

    await deleteOrphaning(ns.name, "s");
    // Left in place, owned by nothing, still labelled as instance s's.
    for (const [kind, name] of children("s")) {
      const child = await getChild(kind, ns.name, name);
      expect(child?.metadata?.ownerReferences ?? [], `${kind} ${name}`).toEqual([]);
      expect(child?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "minixdr-operator", "app.kubernetes.io/instance": "s" });
    }

    const second = await applyMiniXdr(minixdr(ns.name, "s"));
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    await vi.waitFor(async () => {
      for (const [kind, name] of children("s")) {
        expect((await getChild(kind, ns.name, name))?.metadata?.ownerReferences, `${kind} ${name}`).toEqual([expect.objectContaining({ uid: second.metadata.uid, controller: true })]);
      }
    }, wait);
    // The database's claim and the credentials senders and users hold are the same objects, with the same values.
    const adoptedClaim = (await getChild("PersistentVolumeClaim", ns.name, "s-data"))!;
    expect(adoptedClaim.metadata!.uid).toBe(claim.metadata!.uid);
    const adoptedSecret = (await getChild("Secret", ns.name, "s-secrets"))!;
    expect(adoptedSecret.metadata!.uid).toBe(secret.metadata!.uid);
    expect(adoptedSecret.data).toEqual(secret.data);

    await markDeploymentAvailable(ns.name, "s-detector");
    const ready = await waitForStatus(ns.name, "s", (c) => condition(c, "Ready")?.status === "True" && condition(c, "Reconciled")?.status === "True");
    expect(condition(ready, "Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
    const events = await eventReasons(ns.name, "s");
    expect(events.filter((e) => e.startsWith("ApplyFailed"))).toEqual([]);
    expect(events).toEqual(expect.arrayContaining([expect.stringMatching(/^Adopted: Adopted Secret s-secrets, an orphan of this instance .*with the values it holds/),
      expect.stringMatching(/^Adopted: Adopted PersistentVolumeClaim s-data/)]));
    // Deleted again the ordinary way: the adopted children go with it.
    await admin().delete(miniXdrRef, ns.name, "s", second.metadata.uid!);
    await vi.waitFor(async () => expect(await getChild("ConfigMap", ns.name, "s-config")).toBeUndefined(), { timeout: 60_000, interval: 250 });
  });

  it("never takes over an object without the instance's labels, with another instance's, or that another controller owns", async () => {
    const createConfigMap = (name: string, metadata: Record<string, unknown>) => admin().call("create", "configmaps", "POST", `/api/v1/namespaces/${ns.name}/configmaps`,
      { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name, ...metadata }, data: { owner: "someone else" } }, contentType: "application/json" });
    const ourLabels = (instance: string) => ({ "app.kubernetes.io/managed-by": "minixdr-operator", "app.kubernetes.io/instance": instance });
    const owner = await createConfigMap("the-owner", {}) as { metadata: { uid: string } };
    await createConfigMap("plain-config", {});
    await createConfigMap("other-config", { labels: ourLabels("someone-else") });
    await createConfigMap("owned-config", { labels: ourLabels("owned"),
      ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "the-owner", uid: owner.metadata.uid, controller: true }] });

    for (const name of ["plain", "other", "owned"]) {
      await applyMiniXdr(minixdr(ns.name, name));
      const status = await waitForStatus(ns.name, name, (c) => condition(c, "Degraded")?.reason === "ApplyFailed");
      expect(condition(status, "Degraded")!.message).toMatch(new RegExp(`ConfigMap ${name}-config: exists and is not owned by MiniXdr ${name}`));
      const cm = (await getChild("ConfigMap", ns.name, `${name}-config`))!;
      expect(cm.data).toEqual({ owner: "someone else" });
      expect((cm.metadata!.ownerReferences ?? []).map((o) => o.uid)).toEqual(name === "owned" ? [owner.metadata.uid] : []);
    }
  });
});
