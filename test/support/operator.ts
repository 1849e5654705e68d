// Runs the real operator in the test process, authenticated as a ServiceAccount bound to exactly config/rbac,
// so a permission the code needs but the role lacks fails the test.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { pino } from "pino";
import { inject } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { KubeClient, type KubeObject } from "../../operator/kube/client.ts";
import { startOperator, type OperatorOptions, type RunningOperator } from "../../operator/operator.ts";
import { adminKubeConfig } from "./cluster.ts";

const root = join(import.meta.dirname, "../..");
const crdRef = { group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions" };

/** Server-side applies a manifest file (one or more documents) as the admin. */
export async function applyManifest(path: string, namespace?: string): Promise<KubeObject[]> {
  const client = new KubeClient(adminKubeConfig());
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(join(root, path), "utf8"))) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    out.push(await applyObject(client, obj, namespace));
  }
  return out;
}

const plurals: Record<string, { group: string; version: string; plural: string; namespaced: boolean }> = {
  CustomResourceDefinition: { ...crdRef, namespaced: false },
  ClusterRole: { group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterroles", namespaced: false },
  ClusterRoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings", namespaced: false },
  Role: { group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", namespaced: true },
  RoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", namespaced: true },
  ServiceAccount: { group: "", version: "v1", plural: "serviceaccounts", namespaced: true },
  MiniXdr: { group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs", namespaced: true },
  Secret: { group: "", version: "v1", plural: "secrets", namespaced: true },
};

export async function applyObject(client: KubeClient, obj: KubeObject, namespace?: string): Promise<KubeObject> {
  const ref = plurals[obj.kind ?? ""];
  if (!ref) throw new Error(`test helper cannot apply kind ${obj.kind}`);
  const ns = ref.namespaced ? (obj.metadata?.namespace ?? namespace) : undefined;
  const body = { ...obj, metadata: { ...obj.metadata, ...(ns ? { namespace: ns } : {}) } };
  return client.apply(ref, ns ?? "", obj.metadata!.name!, body, { manager: "test-admin" });
}

/** Installs the MiniXdr CRD and waits until it is served. Safe to call from every test file. */
export async function installMiniXdrCrd(): Promise<void> {
  await applyManifest("crds/xdr.minixdr.io_minixdrs.yaml");
  await waitForCrd("minixdrs.xdr.minixdr.io");
}

export async function waitForCrd(name: string): Promise<void> {
  const client = new KubeClient(adminKubeConfig());
  for (let i = 0; i < 100; i++) {
    const crd = await client.get<KubeObject>(crdRef, "", name);
    const conds = (crd.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
    if (conds.some((c) => c.type === "Established" && c.status === "True")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} not established`);
}

/** A kubeconfig for ServiceAccount minixdr-operator in `namespace`, bound to the generated ClusterRole. */
export async function operatorKubeConfig(namespace: string): Promise<k8s.KubeConfig> {
  const client = new KubeClient(adminKubeConfig());
  const role = parse(readFileSync(join(root, "config/rbac/role.yaml"), "utf8")) as KubeObject;
  await applyObject(client, role);
  await applyObject(client, parse(readFileSync(join(root, "config/rbac/leader-election-role.yaml"), "utf8")) as KubeObject, namespace);
  await applyObject(client, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "minixdr-operator", namespace } });
  await applyObject(client, {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: `minixdr-operator-${namespace}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "minixdr-operator" },
    subjects: [{ kind: "ServiceAccount", name: "minixdr-operator", namespace }],
  });
  await applyObject(client, {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "minixdr-operator-leader-election", namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "minixdr-operator-leader-election" },
    subjects: [{ kind: "ServiceAccount", name: "minixdr-operator", namespace }],
  });
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({ namespace, name: "minixdr-operator", body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const admin = adminKubeConfig();
  const cluster = admin.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: "minixdr-operator", token: token.status!.token }],
    contexts: [{ name: "test", cluster: "test", user: "minixdr-operator" }],
    currentContext: "test",
  });
  return kc;
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
    kubeConfig: await operatorKubeConfig(namespace),
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
