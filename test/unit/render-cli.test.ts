// `minixdr render FILE`: what a reviewer sees in a GitOps pull request, with no cluster.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { readMiniXdr } from "../../operator/render/manifest.ts";
import { render } from "../../operator/render/render.ts";

const root = join(import.meta.dirname, "../..");
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin/minixdr.ts"), "render", ...args], { encoding: "utf8", timeout: 30_000 });
const tmp = mkdtempSync(join(tmpdir(), "render-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("minixdr render", () => {
  it.each(["basic.yaml", "production.yaml"])("prints every object the operator would create for %s", (file) => {
    const run = cli(join(root, "examples", file), "--namespace", "security");
    expect(run.status).toBe(0);
    const printed = parseAllDocuments(run.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } });
    const expected = render(readMiniXdr(readFileSync(join(root, "examples", file), "utf8"), "security", "<uid of the MiniXdr>")).map((c) => c.object);
    expect(printed).toEqual(expected);
    expect(printed.every((o) => o.metadata.namespace === "security")).toBe(true);
  });

  it("names the field of an invalid spec and exits non-zero", () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(file, "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: bad}\nspec: {detector: {replicas: 0}}\n");
    const run = cli(file);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/bad\.yaml: spec\.detector\.replicas: .*>=1/);
  });

  it("says which file is missing", () => {
    const run = cli(join(tmp, "nope.yaml"));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/nope\.yaml: ENOENT/);
  });
});
