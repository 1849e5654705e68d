import { parseAllDocuments, stringify } from "yaml";
import { apiVersion, kind, maxNameLength, type MiniXdr } from "../api/minixdr.ts";
import type { DesiredChild } from "./render.ts";

/** Rendered children as one multi-document YAML stream, the form `render` prints and golden files hold. */
export function toYaml(children: DesiredChild[]): string {
  return children
    .map((c) => (c.createOnly ? "# Created once by the operator with random values; never updated.\n" : "") + stringify(c.object, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join("---\n");
}

/** What the CRD asks of metadata.name (see api/crd.ts): a DNS-1035 label short enough for its children's names. */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name === "") return "metadata.name is required";
  if (name.length > maxNameLength) return `metadata.name must be at most ${maxNameLength} characters, so the names of the objects it creates stay valid`;
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) return "metadata.name must start with a letter and hold only lowercase letters, digits and '-' (no '.')";
  return undefined;
}

/** What the API server would check of one MiniXdr document before its spec: its apiVersion and name. */
function checkedMiniXdr(cr: MiniXdr, namespace: string, uid: string): MiniXdr {
  const given: unknown = cr.apiVersion;
  if (given !== apiVersion) throw new Error(`apiVersion must be ${apiVersion} for kind ${kind}, not ${JSON.stringify(given)}`);
  const problem = nameProblem(cr.metadata?.name);
  if (problem) throw new Error(problem);
  return { ...cr, metadata: { ...cr.metadata, namespace: cr.metadata.namespace ?? namespace, uid: cr.metadata.uid ?? uid } };
}

/**
 * Reads every MiniXdr of a file as the API server would take them: YAML errors (a duplicated key included) and a wrong
 * apiVersion or name are refused, naming the line or field (and, in a file of several, the MiniXdr). Other kinds are
 * skipped. The namespace and uid stand in for what the API server would assign.
 */
export function readMiniXdrs(text: string, namespace = "default", uid = "00000000-0000-0000-0000-000000000000"): MiniXdr[] {
  const parsed = parseAllDocuments(text);
  for (const doc of parsed) {
    const err = doc.errors[0];
    if (err) throw new Error(`not valid YAML: ${err.message.split("\n")[0]}`);
  }
  const docs = parsed.map((d) => d.toJS() as MiniXdr).filter((d) => d !== null && typeof d === "object" && d.kind === kind);
  if (docs.length === 0) throw new Error("no MiniXdr object in the file");
  return docs.map((cr, i) => {
    try {
      return checkedMiniXdr(cr, namespace, uid);
    } catch (err) {
      throw docs.length > 1 ? new Error(`${miniXdrLabel(cr, i)}: ${(err as Error).message}`) : err;
    }
  });
}

/** How a MiniXdr of a file of several is named in a message: its name, or its place when it has none. */
export function miniXdrLabel(cr: MiniXdr, index: number): string {
  const name: unknown = cr.metadata?.name;
  return typeof name === "string" && name !== "" ? `MiniXdr ${name}` : `MiniXdr #${index + 1} of the file`;
}

/** The file's first MiniXdr (see readMiniXdrs). */
export function readMiniXdr(text: string, namespace = "default", uid = "00000000-0000-0000-0000-000000000000"): MiniXdr {
  return readMiniXdrs(text, namespace, uid)[0]!;
}
