// Names, labels and ownership shared by every child an instance owns.
import { apiVersion, kind, type MiniXdr } from "../api/minixdr.ts";

export const fieldManager = "minixdr-operator";
export type Component = "detector" | "console";

export interface ChildObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
  [field: string]: unknown;
}

/**
 * A rendered child of a built-in kind: client-node's type for the kind (so a misspelt or mistyped field fails the
 * typecheck; a type-only import, erased at run time: the operator never loads client-node) with the metadata every
 * child gets.
 */
export type Child<Kind extends { apiVersion?: string; kind?: string; metadata?: unknown }> = Omit<Kind, "apiVersion" | "kind" | "metadata"> & ChildObject & {
  apiVersion: NonNullable<Kind["apiVersion"]>;
  kind: NonNullable<Kind["kind"]>;
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

/**
 * Child names: the instance's name and a suffix, no suffix ending in another one after a dash, so two instances in one
 * namespace never name the same object. ("-external-secrets" ends in "-secrets": instance x's ExternalSecret target was
 * instance x-external's generated Secret, and x's detector mounted the other's credentials.)
 */
export const names = {
  component: (cr: MiniXdr, c: Component) => `${cr.metadata.name}-${c}`,
  config: (cr: MiniXdr) => `${cr.metadata.name}-config`,
  generatedSecret: (cr: MiniXdr) => `${cr.metadata.name}-secrets`,
  externalSecret: (cr: MiniXdr) => `${cr.metadata.name}-secrets-external`,
  data: (cr: MiniXdr) => `${cr.metadata.name}-data`,
  defaultDeny: (cr: MiniXdr) => `${cr.metadata.name}-default-deny`,
};

/** Labels that select an instance's pods; immutable once a Deployment exists. */
export function selectorLabels(cr: MiniXdr, component?: Component): Record<string, string> {
  return {
    "app.kubernetes.io/name": "minixdr",
    "app.kubernetes.io/instance": cr.metadata.name,
    ...(component ? { "app.kubernetes.io/component": component } : {}),
  };
}

/** Children get these labels only: never the CR's own labels or annotations (GitOps tools would prune them). */
export function childLabels(cr: MiniXdr, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "minixdr",
    "app.kubernetes.io/instance": cr.metadata.name,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/managed-by": fieldManager,
    "app.kubernetes.io/part-of": "minixdr",
  };
}

export function ownerReference(cr: MiniXdr): OwnerReference {
  return { apiVersion, kind, name: cr.metadata.name, uid: cr.metadata.uid ?? "", controller: true, blockOwnerDeletion: true };
}

export function childMeta(cr: MiniXdr, name: string, component: string, annotations?: Record<string, string>): ChildObject["metadata"] {
  return {
    name,
    namespace: cr.metadata.namespace,
    labels: childLabels(cr, component),
    ...(annotations ? { annotations } : {}),
    ownerReferences: [ownerReference(cr)],
  };
}

/**
 * Drops undefined and null values and empty arrays and maps, so a rendered object equals what the API server stores.
 * Empty strings stay: in a map they are values (`node-role.kubernetes.io/infra: ""`), and some fields give "" a meaning
 * (`storageClassName: ""` is "no class", not the default one). Where the API server omits an empty string, the drift
 * check takes its absence as equal (controller/drift.ts).
 */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const c: unknown = compact(v);
    if (c === undefined || c === null) continue;
    if (Array.isArray(c) && c.length === 0) continue;
    if (c !== null && typeof c === "object" && !Array.isArray(c) && Object.keys(c).length === 0) continue;
    out[k] = c;
  }
  return out as T;
}
