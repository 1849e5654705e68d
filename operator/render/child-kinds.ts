// Every kind an instance may own: the reconciler watches, applies and prunes exactly these, and RBAC grants exactly these.
export interface ChildKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
  /** An optional API (a CRD that may not be installed). */
  optional?: boolean;
  /** Never deleted when its feature turns off (it holds data); garbage-collected with the MiniXdr. */
  retainOnPrune?: boolean;
}

export const childKinds: readonly ChildKind[] = [
  { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts" },
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps" },
  // The generated Secret holds credentials senders and users hold (ingest token, admin password): switching to
  // existingSecret or an ExternalSecret keeps it, so switching back finds the same ones.
  { group: "", version: "v1", kind: "Secret", plural: "secrets", retainOnPrune: true },
  { group: "", version: "v1", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", retainOnPrune: true },
  { group: "", version: "v1", kind: "Service", plural: "services" },
  { group: "apps", version: "v1", kind: "Deployment", plural: "deployments" },
  { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", plural: "networkpolicies" },
  { group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers" },
  { group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets" },
  { group: "external-secrets.io", version: "v1", kind: "ExternalSecret", plural: "externalsecrets", optional: true },
];

export const apiVersionOf = (k: ChildKind) => (k.group ? `${k.group}/${k.version}` : k.version);

export function childKindOf(kind: string): ChildKind {
  const k = childKinds.find((c) => c.kind === kind);
  if (!k) throw new Error(`${kind} is not a kind MiniXdr owns`);
  return k;
}
