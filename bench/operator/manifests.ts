// What gets applied: one MiniXdr (examples/basic.yaml renamed), and for the baseline the same instance's rendered
// children as static manifests, the way a user without the operator would apply them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { withDefaults, type MiniXdr } from "../../operator/api/minixdr.ts";
import { readMiniXdr } from "../../operator/render/manifest.ts";
import { render } from "../../operator/render/render.ts";
import { generatedSecretData } from "../../operator/controller/generated-secret.ts";
import { root } from "../support/cluster.ts";

const example = readFileSync(join(root, "examples/basic.yaml"), "utf8");

export function miniXdr(namespace: string, name: string): MiniXdr {
  const cr = readMiniXdr(example, namespace);
  delete cr.metadata.uid;
  return { ...cr, metadata: { ...cr.metadata, name, namespace } };
}

export function miniXdrYaml(namespace: string, name: string): string {
  return stringify(miniXdr(namespace, name));
}

/** Names and kinds of the children the operator creates for `miniXdr(namespace, name)`. */
export function childrenOf(namespace: string, name: string): { kind: string; name: string }[] {
  const cr = { ...miniXdr(namespace, name), metadata: { ...miniXdr(namespace, name).metadata, uid: "x" } };
  return render(cr, withDefaults(cr.spec)).map((c) => ({ kind: c.object.kind, name: c.object.metadata.name }));
}

/**
 * The rendered children as a static manifest: no ownerReferences (there is no MiniXdr to own them), the
 * managed-by label changed so the operator's label-selected informers never see them, and the Secret's values
 * generated up front, as the operator generates them.
 */
export function staticManifestYaml(namespace: string, name: string): string {
  const cr = { ...miniXdr(namespace, name), metadata: { ...miniXdr(namespace, name).metadata, uid: "00000000-0000-0000-0000-000000000000" } };
  const docs: string[] = [];
  for (const child of render(cr, withDefaults(cr.spec))) {
    const o = structuredClone(child.object) as Record<string, unknown> & { metadata: Record<string, unknown> & { labels: Record<string, string> } };
    delete o.metadata.ownerReferences;
    o.metadata.labels = { ...o.metadata.labels, "app.kubernetes.io/managed-by": "bench-static" };
    if (child.createOnly) o.stringData = generatedSecretData();
    docs.push(stringify(o, { lineWidth: 0, aliasDuplicateObjects: false }));
  }
  return docs.join("---\n");
}
