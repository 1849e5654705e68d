// `minixdr render FILE`: what a reviewer sees in a GitOps pull request, with no cluster.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parseAllDocuments } from "yaml";
import { readMiniXdr } from "../../operator/render/manifest.ts";
import { render } from "../../operator/render/render.ts";

const root = join(import.meta.dirname, "../..");
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin/minixdr.ts"), "render", ...args], { encoding: "utf8", timeout: 30_000 });
const tmp = mkdtempSync(join(tmpdir(), "render-cli-"));
// Each case starts Node processes (about a second each on a loaded 2-core machine): not a reason to fail.
vi.setConfig({ testTimeout: 60_000 });
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

  it("renders as the operator does on OpenShift with --pod-user-ids platform, and refuses another value", () => {
    const file = join(root, "examples", "basic.yaml");
    const run = cli(file, "--pod-user-ids", "platform");
    expect(run.status).toBe(0);
    const printed = parseAllDocuments(run.stdout).map((d) => d.toJS() as { kind: string });
    expect(printed).toEqual(render(readMiniXdr(readFileSync(file, "utf8"), "default", "<uid of the MiniXdr>"), undefined, { podUserIds: "platform" }).map((c) => c.object));
    expect(run.stdout).not.toMatch(/runAsUser|fsGroup/);
    const wrong = cli(file, "--pod-user-ids=openshift");
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/--pod-user-ids takes fixed or platform, not "openshift"/);
  });

  it("names the field of an invalid spec and exits non-zero", () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(file, "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: bad}\nspec: {detector: {replicas: 0}}\n");
    const run = cli(file);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/bad\.yaml: spec\.detector\.replicas: .*>=1/);
  });

  it.each([
    ["a YAML syntax error", "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: x\n", /not valid YAML/],
    ["a duplicated key (the last would win silently)", "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: x}\nspec:\n  console: {enabled: true}\n  console: {enabled: false}\n", /not valid YAML: Map keys must be unique/],
    ["a rule the API server checks across fields", "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: x}\nspec: {detector: {replicas: 2}}\n", /spec\.storage\.type: spec\.storage\.type must be postgres when spec\.detector\.replicas > 1/],
    ["minReplicas above maxReplicas", "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: x}\nspec: {storage: {type: postgres, postgres: {urlSecretRef: {name: db, key: url}}}, detector: {autoscaling: {enabled: true, minReplicas: 5, maxReplicas: 2}}}\n", /spec\.detector\.autoscaling\.minReplicas: minReplicas must be less than or equal to maxReplicas/],
    ["a CIDR that is none", "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: x}\nspec: {networkPolicy: {ingress: {cidrs: [10.0.0.0/99]}}}\n", /spec\.networkPolicy\.ingress\.cidrs: cidrs must be CIDR blocks/],
    ["no metadata", "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nspec: {}\n", /metadata\.name is required/],
    ["a name no Service could carry", "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: Not_Valid}\n", /metadata\.name must start with a letter/],
    ["another apiVersion", "apiVersion: v1\nkind: MiniXdr\nmetadata: {name: x}\n", /apiVersion must be xdr\.minixdr\.io\/v1alpha1 for kind MiniXdr, not "v1"/],
  ])("refuses %s, saying what, with exit code 1", (_what, text, message) => {
    const file = join(tmp, "refused.yaml");
    writeFileSync(file, text);
    const run = cli(file);
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 1, stdout: "" });
    expect(run.stderr).toMatch(message);
  });

  it("reads --namespace=NS and -n NS, refuses a namespace the file contradicts, and refuses what it does not know with exit code 2", () => {
    const basic = join(root, "examples/basic.yaml");
    for (const args of [["--namespace=security"], ["-n", "security"]]) {
      const run = cli(basic, ...args);
      expect(run.status).toBe(0);
      expect(parseAllDocuments(run.stdout).every((d) => (d.toJS() as { metadata: { namespace: string } }).metadata.namespace === "security")).toBe(true);
    }
    const file = join(tmp, "ns.yaml");
    writeFileSync(file, "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: x, namespace: team-a}\n");
    expect(cli(file, "-n", "team-b")).toMatchObject({ status: 1, stderr: expect.stringMatching(/metadata\.namespace is team-a, but --namespace says team-b/) as string });
    expect(cli(file, "-n", "team-a").status).toBe(0);
    for (const args of [["--bogus"], ["-n"], [basic]]) {
      const run = cli(basic, ...args);
      expect({ args, status: run.status }).toEqual({ args, status: 2 });
      expect(run.stderr).toMatch(/usage: minixdr render FILE/);
    }
  });

  it("renders every MiniXdr of a file of several, and names the one it refuses", () => {
    const basic = readFileSync(join(root, "examples/basic.yaml"), "utf8");
    const second = "apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: second}\nspec: {console: {enabled: true}}\n";
    const file = join(tmp, "two.yaml");
    writeFileSync(file, `${basic}\n---\n${second}`);
    const run = cli(file, "-n", "security");
    expect(run.status).toBe(0);
    const printed = parseAllDocuments(run.stdout).map((d) => d.toJS() as object);
    const expected = [basic, second].flatMap((t) => render(readMiniXdr(t, "security", "<uid of the MiniXdr>")).map((c) => c.object));
    expect(printed).toEqual(expected);

    writeFileSync(file, `${basic}\n---\n${second.replace("spec: {console: {enabled: true}}", "spec: {detector: {replicas: \"2\"}}")}`);
    expect(cli(file)).toMatchObject({ status: 1, stdout: "", stderr: expect.stringMatching(/two\.yaml: MiniXdr second: spec\.detector\.replicas: /) as string });
  });

  it("says which file is missing", () => {
    const run = cli(join(tmp, "nope.yaml"));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/nope\.yaml: ENOENT/);
  });
});
