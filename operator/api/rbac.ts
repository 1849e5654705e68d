// The operator's ClusterRole, derived from what the code touches: the MiniXdr API, the child kinds, and events.
import { childKinds } from "../render/child-kinds.ts";
import { group, plural } from "./minixdr.ts";

/**
 * Verbs the reconciler and its informers use on children: list+watch (caches), get (a child missing from the caches,
 * before creating it), create, patch (apply), delete (prune).
 */
const childVerbs = ["get", "list", "watch", "create", "patch", "delete"];

export function operatorClusterRole(): Record<string, unknown> {
  const byGroup = new Map<string, string[]>();
  for (const k of childKinds) byGroup.set(k.group, [...(byGroup.get(k.group) ?? []), k.plural]);
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "minixdr-operator", labels: { "app.kubernetes.io/name": "minixdr-operator", "app.kubernetes.io/part-of": "minixdr" } },
    rules: [
      // MiniXdrs are read from the informer's cache; status is written by server-side apply.
      { apiGroups: [group], resources: [plural], verbs: ["list", "watch"] },
      { apiGroups: [group], resources: [`${plural}/status`], verbs: ["patch"] },
      // blockOwnerDeletion on children needs this where OwnerReferencesPermissionEnforcement is on.
      { apiGroups: [group], resources: [`${plural}/finalizers`], verbs: ["update"] },
      ...[...byGroup.entries()].map(([g, resources]) => ({ apiGroups: [g], resources, verbs: childVerbs })),
      // Whether a bound claim's class lets it grow (a size the API server would refuse on every pass is kept, and said).
      { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get"] },
      // A repeated event counts on the Event already written (a merge patch of count and lastTimestamp).
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    ],
  };
}
