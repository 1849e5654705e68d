// Reading and driving MiniXdr objects and their children on the real control plane.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { vi } from "vitest";
import type { Condition, MiniXdr } from "../../operator/api/minixdr.ts";
import { KubeClient, isNotFound, type KubeObject } from "../../operator/kube/client.ts";
import { MiniXdrReconciler, type ClusterState } from "../../operator/controller/reconciler.ts";
import { childKindOf } from "../../operator/render/child-kinds.ts";
import { readMiniXdr } from "../../operator/render/manifest.ts";
import { adminConnection } from "./cluster.ts";
import { reportPodsReady } from "../controlplane/kubelet-stand-in.ts";
import { applyObject } from "./operator.ts";

export const miniXdrRef = { group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs" };
export const admin = () => new KubeClient(adminConnection());

/**
 * A reconciler a test drives by hand against the real API server: it sees the MiniXdr (and children) the test's cache
 * stand-in gives it, and each Event it would write is recorded as "Type Reason: message".
 */
export function drivenReconciler(cache: { miniXdr: () => MiniXdr; child?: ClusterState["child"] }, now?: () => string): { reconciler: MiniXdrReconciler; recorded: string[] } {
  const recorded: string[] = [];
  const reconciler = new MiniXdrReconciler({
    client: admin(),
    state: { miniXdr: cache.miniXdr, child: cache.child ?? (() => undefined), ownedChildren: () => [], kindAvailable: () => true, kindForbidden: () => false, kindOtherServedVersions: () => [] },
    events: { record: (_cr, type, reason, message) => Promise.resolve(void recorded.push(`${type} ${reason}: ${message}`)) },
    log: pino({ level: "silent" }),
    ...(now ? { now } : {}),
  });
  return { reconciler, recorded };
}

export function exampleMiniXdr(file: string, namespace: string): MiniXdr {
  const cr = readMiniXdr(readFileSync(join(import.meta.dirname, "../../examples", file), "utf8"), namespace);
  delete cr.metadata.uid;
  return cr;
}

export async function applyMiniXdr(cr: MiniXdr): Promise<MiniXdr> {
  return (await applyObject(admin(), cr as unknown as KubeObject)) as unknown as MiniXdr;
}

export function getMiniXdr(namespace: string, name: string): Promise<MiniXdr> {
  return admin().get<MiniXdr>(miniXdrRef, namespace, name);
}

export async function getChild(kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await admin().get(childKindOf(kind), namespace, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function condition(cr: MiniXdr, type: string): Condition | undefined {
  return cr.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the MiniXdr's status satisfies `check` (which throws or returns false until then). */
export async function waitForStatus(namespace: string, name: string, check: (cr: MiniXdr) => boolean | void, timeout = 20_000): Promise<MiniXdr> {
  return vi.waitFor(async () => {
    const cr = await getMiniXdr(namespace, name);
    if (check(cr) === false) throw new Error(`status not there yet: ${JSON.stringify(cr.status)}`);
    return cr;
  }, { timeout, interval: 200 });
}

/** Pods of a Deployment (created by the real replicaset controller), by its selector. */
export async function podsOf(namespace: string, deployment: string): Promise<KubeObject[]> {
  const d = await admin().get(childKindOf("Deployment"), namespace, deployment);
  const selector = Object.entries((d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",");
  const list = await admin().call<{ items: KubeObject[] }>("list", "pods", "GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return list.items;
}

/**
 * There is no kubelet: do its part and report each pod of the Deployment Running and Ready. The real
 * replicaset and deployment controllers then derive the Deployment's availability, as in a cluster.
 */
export async function markDeploymentAvailable(namespace: string, name: string): Promise<void> {
  // The newest template's pods first: after a template change, the old ReplicaSet's pods alone would not finish it.
  const d = await vi.waitFor(async () => {
    const now = await admin().get(childKindOf("Deployment"), namespace, name);
    const status = (now.status ?? {}) as { observedGeneration?: number; updatedReplicas?: number };
    const wanted = (now.spec as { replicas?: number }).replicas ?? 1;
    if ((status.observedGeneration ?? 0) < (now.metadata?.generation ?? 1) || (status.updatedReplicas ?? 0) < wanted) {
      throw new Error(`Deployment ${name}: the controller has not created the current template's pods yet`);
    }
    return now;
  }, { timeout: 20_000, interval: 100 });
  const replicas = (d.spec as { replicas?: number }).replicas ?? 1;
  const pods = await vi.waitFor(async () => {
    const p = (await podsOf(namespace, name)).filter((pod) => !pod.metadata?.deletionTimestamp);
    if (p.length < replicas) throw new Error(`Deployment ${name}: ${p.length}/${replicas} pods created`);
    return p;
  }, { timeout: 20_000, interval: 200 });
  await reportPodsReady(admin(), namespace, pods.map((pod) => pod.metadata!.name!));
}
