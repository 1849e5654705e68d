// The operator's ClusterRole, derived from what the code touches: the MiniXdr API, the child kinds, and events.
import { childKinds } from "../render/child-kinds.ts";
import { group, plural } from "./minixdr.ts";

/**
 * Verbs the reconciler and its informers use on children: list+watch (caches), get (a child missing from the caches,
 * before creating it), create, patch (apply), delete (prune).
 */
const childVerbs = ["get", "list", "watch", "create", "patch", "delete"];

const labels = { "app.kubernetes.io/name": "minixdr-operator", "app.kubernetes.io/part-of": "minixdr" };

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Every rule the operator needs, and whether its resources live in namespaces (a Role can grant it) or not. */
function operatorRules(): { rule: Rule; namespaced: boolean }[] {
  const byGroup = new Map<string, string[]>();
  for (const k of childKinds) byGroup.set(k.group, [...(byGroup.get(k.group) ?? []), k.plural]);
  const namespaced = (rule: Rule) => ({ rule, namespaced: true });
  return [
    // MiniXdrs are read from the informer's cache; status is written by server-side apply.
    namespaced({ apiGroups: [group], resources: [plural], verbs: ["list", "watch"] }),
    namespaced({ apiGroups: [group], resources: [`${plural}/status`], verbs: ["patch"] }),
    // blockOwnerDeletion on children needs this where OwnerReferencesPermissionEnforcement is on.
    namespaced({ apiGroups: [group], resources: [`${plural}/finalizers`], verbs: ["update"] }),
    ...[...byGroup.entries()].map(([g, resources]) => namespaced({ apiGroups: [g], resources, verbs: childVerbs })),
    // Whether a bound claim's class lets it grow (a size the API server would refuse on every pass is kept, and said).
    { rule: { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get"] }, namespaced: false },
    // A repeated event counts on the Event already written (a merge patch of count and lastTimestamp).
    namespaced({ apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }),
  ];
}

/** config/rbac/role.yaml: everything, in every namespace (config/default, where the operator watches all of them). */
export function operatorClusterRole(): Record<string, unknown> {
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "minixdr-operator", labels }, rules: operatorRules().map((r) => r.rule) };
}

/**
 * config/namespaced/role.yaml: what lives in namespaces, granted in the one namespace the operator watches
 * (config/namespaced): its Secrets and other children there, none elsewhere.
 */
export function operatorNamespacedRole(): Record<string, unknown> {
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "minixdr-operator", labels }, rules: operatorRules().filter((r) => r.namespaced).map((r) => r.rule) };
}

/** config/namespaced/cluster-role.yaml: the few cluster-scoped reads the namespaced operator still needs (StorageClasses). */
export function operatorClusterReadsRole(): Record<string, unknown> {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "minixdr-operator-cluster-reads", labels },
    rules: operatorRules().filter((r) => !r.namespaced).map((r) => r.rule),
  };
}
