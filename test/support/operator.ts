// Runs the real operator in the test process, authenticated as a ServiceAccount bound to exactly config/rbac,
// so a permission the code needs but the role lacks fails the test.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { inject } from "vitest";
import { parseAllDocuments } from "yaml";
import { KubeClient, type KubeObject } from "../../operator/kube/client.ts";
import { connectionFromKubeconfig, type Kubeconfig, type KubeConnection } from "../../operator/kube/config.ts";
import { startOperator, type OperatorOptions, type RunningOperator } from "../../operator/operator.ts";
import { adminConnection } from "./cluster.ts";
import { applyAs, operatorServiceAccountKubeconfig } from "./operator-identity.ts";

const root = join(import.meta.dirname, "../..");
const crdRef = { group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions" };

/** Server-side applies a manifest file (one or more documents) as the admin. */
export async function applyManifest(path: string, namespace?: string): Promise<KubeObject[]> {
  const client = new KubeClient(adminConnection());
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(join(root, path), "utf8"))) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    out.push(await applyObject(client, obj, namespace));
  }
  return out;
}

export function applyObject(client: KubeClient, obj: KubeObject, namespace?: string): Promise<KubeObject> {
  return applyAs(client, "test-admin", obj, namespace);
}

/** Installs the MiniXdr CRD and waits until it is served. Safe to call from every test file. */
export async function installMiniXdrCrd(): Promise<void> {
  await applyManifest("crds/xdr.minixdr.io_minixdrs.yaml");
  await waitForCrd("minixdrs.xdr.minixdr.io");
}

export async function waitForCrd(name: string): Promise<void> {
  const client = new KubeClient(adminConnection());
  for (let i = 0; i < 100; i++) {
    const crd = await client.get<KubeObject>(crdRef, "", name);
    const conds = (crd.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
    if (conds.some((c) => c.type === "Established" && c.status === "True")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} not established`);
}

/**
 * A kubeconfig for ServiceAccount minixdr-operator in `namespace`, bound to the generated ClusterRole (or, with
 * `rbac: "namespaced"`, to config/namespaced's Role in `namespace`).
 */
export function operatorKubeconfig(namespace: string, rbac: "cluster" | "namespaced" = "cluster"): Promise<Kubeconfig> {
  return operatorServiceAccountKubeconfig(new KubeClient(adminConnection()), inject("kubeconfig"), namespace, `minixdr-operator-${namespace}`, rbac);
}

/** ServiceAccount minixdr-operator in `namespace`, as the operator's loader reads its kubeconfig. */
export async function operatorConnection(namespace: string, rbac: "cluster" | "namespaced" = "cluster"): Promise<KubeConnection> {
  return connectionFromKubeconfig(await operatorKubeconfig(namespace, rbac), { source: `operator kubeconfig for ${namespace}` });
}

export const operatorUser = (namespace: string) => `system:serviceaccount:${namespace}:minixdr-operator`;

export interface TestOperator extends RunningOperator {
  requests: { verb: string; resource: string }[];
}

/** Starts the operator for one namespace, as its ServiceAccount. */
export async function startTestOperator(namespace: string, opts: Partial<OperatorOptions> = {}): Promise<TestOperator> {
  const requests: { verb: string; resource: string }[] = [];
  const level = process.env.OPERATOR_LOG_LEVEL ?? "warn";
  const running = await startOperator({
    connection: opts.connection ?? await operatorConnection(namespace),
    log: pino({ level, base: { ns: namespace } }),
    identity: `test-${process.pid}`,
    leaderElection: false,
    watchNamespace: namespace,
    resyncMs: 60_000,
    onRequest: (verb, resource) => requests.push({ verb, resource }),
    ...opts,
  });
  return Object.assign(running, { requests });
}

export function auditLogPath(): string {
  return inject("auditLog");
}
