// The hash of what the operator last applied, kept on each child it applies. The drift check compares only the
// fields we render, so a field that is no longer rendered (a nodeSelector taken out of the spec, an HPA behavior
// dropped) leaves it nothing to compare: the live object keeps the old value. The hash changes with it, the child is
// applied again, and server-side apply removes the fields our field manager no longer sends.
import { createHash } from "node:crypto";
import type { ChildObject } from "../render/meta.ts";
import { canonicalJson } from "./status.ts";

export const appliedHashAnnotation = "xdr.minixdr.io/applied-hash";

/** The path the drift check reports when only the hash differs. */
export const appliedHashPath = `.metadata.annotations.${appliedHashAnnotation}`;

/** The object with the hash of its own content (without the annotation) in `appliedHashAnnotation`. */
export function withAppliedHash<T extends ChildObject>(object: T): T {
  const hash = createHash("sha256").update(canonicalJson(object)).digest("hex").slice(0, 16);
  return { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [appliedHashAnnotation]: hash } } };
}
