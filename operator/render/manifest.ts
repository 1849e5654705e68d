import { parseAllDocuments, stringify } from "yaml";
import type { MiniXdr } from "../api/minixdr.ts";
import type { DesiredChild } from "./render.ts";

/** Rendered children as one multi-document YAML stream, the form `render` prints and golden files hold. */
export function toYaml(children: DesiredChild[]): string {
  return children
    .map((c) => (c.createOnly ? "# Created once by the operator with random values; never updated.\n" : "") + stringify(c.object, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join("---\n");
}

/** Reads a MiniXdr file; the namespace and uid stand in for what the API server would assign. */
export function readMiniXdr(text: string, namespace = "default", uid = "00000000-0000-0000-0000-000000000000"): MiniXdr {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as MiniXdr).filter(Boolean);
  const cr = docs.find((d) => d.kind === "MiniXdr");
  if (!cr) throw new Error("no MiniXdr object in the file");
  return { ...cr, metadata: { ...cr.metadata, namespace: cr.metadata.namespace ?? namespace, uid: cr.metadata.uid ?? uid } };
}
