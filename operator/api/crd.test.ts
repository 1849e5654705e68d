import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderGeneratedFiles } from "./generated-files.ts";

const root = join(import.meta.dirname, "../..");

describe("generated CRD and RBAC", () => {
  it.each(Object.entries(renderGeneratedFiles()))("%s matches the schema (run `npm run generate` after changing it)", (file, content) => {
    expect(readFileSync(join(root, file), "utf8")).toBe(content);
  });

  it("keeps defaults out of the CRD so GitOps tools see no diffs, but documents them", () => {
    const text = renderGeneratedFiles()["crds/xdr.minixdr.io_minixdrs.yaml"]!;
    const crd = parse(text) as { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } };
    const schemaText = JSON.stringify(crd.spec.versions[0]!.schema.openAPIV3Schema);
    expect(schemaText).not.toContain('"default"');
    expect(schemaText).toContain("Defaults to 6.");
  });
});
