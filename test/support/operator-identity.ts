// The operator's identity on a cluster, as config/ ships it: ServiceAccount minixdr-operator bound to the generated
// ClusterRole and the leader-election Role. Used by the tests and the benchmarks (no vitest here).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { KubeClient, KubeObject, ResourceRef } from "../../operator/kube/client.ts";
import type { Kubeconfig } from "../../operator/kube/config.ts";

const root = join(import.meta.dirname, "../..");

const refs: Record<string, ResourceRef & { namespaced: boolean }> = {
  CustomResourceDefinition: { group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", namespaced: false },
  Namespace: { group: "", version: "v1", plural: "namespaces", namespaced: false },
  ClusterRole: { group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterroles", namespaced: false },
  ClusterRoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings", namespaced: false },
  Role: { group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", namespaced: true },
  RoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", namespaced: true },
  ServiceAccount: { group: "", version: "v1", plural: "serviceaccounts", namespaced: true },
  MiniXdr: { group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs", namespaced: true },
  Secret: { group: "", version: "v1", plural: "secrets", namespaced: true },
};

/** Server-side applies one object of a kind listed above, under field manager `manager`. */
export function applyAs(client: KubeClient, manager: string, obj: KubeObject, namespace?: string): Promise<KubeObject> {
  const ref = refs[obj.kind ?? ""];
  if (!ref) throw new Error(`cannot apply kind ${obj.kind}: add it to test/support/operator-identity.ts`);
  const ns = ref.namespaced ? (obj.metadata?.namespace ?? namespace) : undefined;
  const body = { ...obj, metadata: { ...obj.metadata, ...(ns ? { namespace: ns } : {}) } };
  return client.apply(ref, ns ?? "", obj.metadata!.name!, body, { manager });
}

/**
 * A kubeconfig for ServiceAccount minixdr-operator in `namespace` (which must exist), bound to exactly the RBAC in
 * config/rbac (`rbac: "cluster"`, as config/default installs it), or in config/namespaced (`"namespaced"`: the
 * generated Role in `namespace` and the cluster-scoped reads), authenticated by a token from the TokenRequest API; its
 * cluster is the one of the admin kubeconfig file `adminKubeconfigPath` (which `client` uses). `bindingName` names its
 * ClusterRoleBinding.
 */
export async function operatorServiceAccountKubeconfig(client: KubeClient, adminKubeconfigPath: string, namespace: string, bindingName: string,
  rbac: "cluster" | "namespaced" = "cluster"): Promise<Kubeconfig> {
  const apply = (obj: KubeObject) => applyAs(client, "test-admin", obj, namespace);
  const file = (path: string) => parse(readFileSync(join(root, path), "utf8")) as KubeObject;
  const subjects = [{ kind: "ServiceAccount", name: "minixdr-operator", namespace }];
  await apply(file("config/rbac/leader-election-role.yaml"));
  await apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "minixdr-operator" } });
  if (rbac === "cluster") {
    await apply(file("config/rbac/role.yaml"));
    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: bindingName },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "minixdr-operator" }, subjects,
    });
  } else {
    const role = file("config/namespaced/role.yaml");
    const reads = file("config/namespaced/cluster-role.yaml");
    await apply(role);
    await apply(reads);
    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "minixdr-operator" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata!.name! }, subjects,
    });
    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: bindingName },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: reads.metadata!.name! }, subjects,
    });
  }
  await apply({
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "minixdr-operator-leader-election" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "minixdr-operator-leader-election" },
    subjects: [{ kind: "ServiceAccount", name: "minixdr-operator", namespace }],
  });
  const token = await client.call<{ status: { token: string } }>("create", "serviceaccounts/token", "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/minixdr-operator/token`,
    { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [], expirationSeconds: 3600 } } });
  const admin = parse(readFileSync(adminKubeconfigPath, "utf8")) as Kubeconfig;
  const contextName = admin["current-context"];
  const clusterName = admin.contexts?.find((c) => c.name === contextName)?.context.cluster;
  const cluster = admin.clusters?.find((c) => c.name === clusterName)?.cluster;
  if (!cluster) throw new Error(`${adminKubeconfigPath} has no current cluster`);
  return {
    apiVersion: "v1", kind: "Config",
    clusters: [{ name: "local", cluster }],
    users: [{ name: "minixdr-operator", user: { token: token.status.token } }],
    contexts: [{ name: "local", context: { cluster: "local", user: "minixdr-operator" } }],
    "current-context": "local",
  };
}
