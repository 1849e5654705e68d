// The SQLite PersistentVolumeClaim once it exists. Its spec is immutable after creation except for a larger storage
// request on a bound claim: applying a changed storage class or a smaller size is refused (422) on every pass, which
// would hold the instance at ApplyFailed while the detector runs. As CloudNativePG and Strimzi do, the fields that
// cannot change follow the live claim, so the apply goes through, and each change not made is named for the user.
import { quantityValue } from "../api/quantity.ts";
import type { KubeObject } from "../kube/client.ts";
import { fieldManager, type ChildObject } from "../render/meta.ts";

interface ClaimSpec {
  accessModes?: string[];
  storageClassName?: string;
  volumeMode?: string;
  resources?: { requests?: Record<string, string> };
}

/**
 * Whether the claim's storage class lets it grow, as the PersistentVolumeClaimResize admission decides: a class that
 * exists and sets allowVolumeExpansion. Undefined: not known (the class could not be read), and the growth is applied.
 */
export interface ClaimExpansion {
  allowed: boolean;
  /** The live claim's class; undefined or "" for none. */
  className: string | undefined;
  /** The class was not found. */
  missing?: boolean;
}

export interface FollowedClaim {
  /** The desired claim, with what cannot change taken from the live one. */
  object: ChildObject;
  /** One sentence per change of the spec that the claim cannot take, for status and an Event. */
  notes: string[];
}

/** Whether our server-side apply last set the claim's storage class (not admission defaulting it to the cluster's default). */
/** Whether applying `desired` over `live` would grow a bound claim: the one change its storage class decides. */
export function growsBoundClaim(desired: ChildObject, live: KubeObject): boolean {
  const want = (desired.spec as ClaimSpec | undefined)?.resources?.requests?.storage;
  const has = (live.spec as ClaimSpec | undefined)?.resources?.requests?.storage;
  if (want === undefined || has === undefined || (live.status as { phase?: string } | undefined)?.phase !== "Bound") return false;
  const [a, b] = [quantityValue(want), quantityValue(has)];
  return a !== undefined && b !== undefined && a - b > Math.abs(b) * 1e-12;
}

/** The live claim's storage class ("" or undefined: none). */
export function claimClassName(live: KubeObject): string | undefined {
  return (live.spec as ClaimSpec | undefined)?.storageClassName;
}

export function appliesStorageClass(live: KubeObject): boolean {
  const ours = live.metadata?.managedFields?.find((m) => m.manager === fieldManager && m.operation === "Apply" && !m.subresource);
  return Boolean((ours?.fieldsV1?.["f:spec"] as Record<string, unknown> | undefined)?.["f:storageClassName"]);
}

const className = (c: string | undefined) => (c === undefined ? "none" : c === "" ? '"" (no class)' : c);
const newClaimNeeded = (name: string) => `a new claim is needed for that: delete PersistentVolumeClaim ${name}, which deletes the SQLite data on it, and the operator creates it as the spec says`;

/**
 * The claim to apply over `live`. `ownsClass`: our field manager set the live class, so leaving it out of the apply
 * would remove it (refused); a class the API server defaulted is not ours and is left alone.
 */
export function followLiveClaim(desired: ChildObject, live: KubeObject, ownsClass: boolean, expansion?: ClaimExpansion): FollowedClaim {
  const want = (desired.spec ?? {}) as ClaimSpec;
  const has = (live.spec ?? {}) as ClaimSpec;
  const name = desired.metadata.name;
  const spec: ClaimSpec = { ...want };
  const notes: string[] = [];

  // Not set by the MiniXdr's spec: followed without a word (a claim adopted from an older version may differ).
  if (has.accessModes && JSON.stringify(has.accessModes) !== JSON.stringify(want.accessModes)) spec.accessModes = has.accessModes;
  if (want.volumeMode !== undefined && has.volumeMode !== undefined && want.volumeMode !== has.volumeMode) spec.volumeMode = has.volumeMode;

  if (want.storageClassName !== undefined ? want.storageClassName !== has.storageClassName : ownsClass && has.storageClassName !== undefined) {
    if (has.storageClassName === undefined) delete spec.storageClassName;
    else spec.storageClassName = has.storageClassName;
    const asked = want.storageClassName === undefined ? "no class (the cluster's default)" : className(want.storageClassName);
    notes.push(`PersistentVolumeClaim ${name} keeps storage class ${className(has.storageClassName)}: spec.storage.sqlite.storageClassName asks for ${asked}, `
      + `and a claim's storage class cannot change after it is created; ${newClaimNeeded(name)}`);
  }

  const wantSize = want.resources?.requests?.storage;
  const hasSize = has.resources?.requests?.storage;
  const a = wantSize === undefined ? undefined : quantityValue(wantSize);
  const b = hasSize === undefined ? undefined : quantityValue(hasSize);
  if (a !== undefined && b !== undefined && Math.abs(a - b) > Math.abs(b) * 1e-12) {
    const bound = (live.status as { phase?: string } | undefined)?.phase === "Bound";
    if (a < b) {
      notes.push(`PersistentVolumeClaim ${name} keeps its size ${hasSize}: spec.storage.sqlite.size asks for ${wantSize}, and a claim cannot shrink; ${newClaimNeeded(name)}`);
    } else if (!bound) {
      const phase = (live.status as { phase?: string } | undefined)?.phase ?? "Pending";
      notes.push(`PersistentVolumeClaim ${name} keeps its size ${hasSize} for now: spec.storage.sqlite.size asks for ${wantSize}, and a claim's size cannot change `
        + `before it is bound to a volume (it is ${phase}); the larger size is applied once it is bound`);
    }
    // Larger on a bound claim: applied where its storage class allows volume expansion; elsewhere the API server
    // refuses it on every pass (the instance stayed at ApplyFailed), so the claim keeps its size, and says why.
    const fixedSize = a > b && bound && expansion !== undefined && !expansion.allowed;
    if (fixedSize) {
      const why = !expansion.className
        ? "it has no storage class, and only a claim whose class allows volume expansion can grow"
        : expansion.missing
          ? `its storage class ${expansion.className} does not exist, and only a claim whose class allows volume expansion can grow`
          : `its storage class ${expansion.className} does not allow volume expansion (allowVolumeExpansion is not true); once an administrator sets it, the larger size is applied`;
      notes.push(`PersistentVolumeClaim ${name} keeps its size ${hasSize}: spec.storage.sqlite.size asks for ${wantSize}, and ${why}`);
    }
    if (a < b || !bound || fixedSize) spec.resources = { ...want.resources, requests: { ...want.resources?.requests, storage: hasSize! } };
  }
  return { object: { ...desired, spec }, notes };
}
