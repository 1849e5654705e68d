// test/e2e/kind.sh needs Docker, which this machine lacks. What can run here does: the script parses, its attack step
// (ingest a Cowrie brute force, log in as admin, find the incident) runs against a real detector, and the names it
// uses (Service, Secret, keys, container) are the ones the operator and config/ produce.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { defaultImage } from "../../operator/api/minixdr.ts";
import { names } from "../../operator/render/meta.ts";
import { secretKeys } from "../../operator/render/secrets.ts";
import { detectorEndpoint } from "../../operator/render/services.ts";
import type { RunningDetector } from "../../detector/detector.ts";
import { adminPassword, ingestTokens, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../detector/detectorHarness.ts";
import { ensureDebianCommand } from "../support/debian.ts";
import { exampleMiniXdr } from "../support/minixdr.ts";

const root = join(import.meta.dirname, "../..");
const scriptPath = join(root, "test/e2e/kind.sh");
const script = readFileSync(scriptPath, "utf8");
const run = promisify(execFile);

async function attack(url: string, token: string, password: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run("bash", [scriptPath, "attack", url, token, password], { timeout: 60_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("test/e2e/kind.sh", () => {
  let files: DetectorFiles;
  let detector: RunningDetector;
  beforeAll(async () => {
    ensureDebianCommand("curl", "curl");
    files = await writeDetectorFiles();
    detector = await startTestDetector(files);
  }, 600_000);
  afterAll(async () => {
    await detector?.close();
    await files?.remove();
  });

  it("is valid bash with strict mode and a cleanup trap", () => {
    const r = spawnSync("bash", ["-n", scriptPath], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(script).toMatch(/^trap cleanup EXIT$/m);
  });

  it("its attack raises a brute-force incident on a real detector, seen through the admin login and the incidents API", async () => {
    const r = await attack(detector.url, ingestTokens.default, adminPassword);
    expect(r.out).toContain("incident raised: brute force (ATT&CK T1110) from 203.0.113.77");
    expect(r.code).toBe(0);
    const page = await detector.repository.listIncidents("default", { limit: 50, offset: 0 });
    expect(page.items.some((i) => i.sourceIp === "203.0.113.77" && JSON.stringify(i.techniques).includes("T1110"))).toBe(true);
  });

  it("fails, saying why, when the ingest token is wrong or the admin password is", async () => {
    const badToken = await attack(detector.url, "not-the-token", adminPassword);
    expect(badToken.code).not.toBe(0);
    expect(badToken.out).toContain("FAILED: ingest refused the events");
    const badPassword = await attack(detector.url, ingestTokens.default, "wrong-password-1");
    expect(badPassword.code).not.toBe(0);
    expect(badPassword.out).toContain("FAILED: admin login refused");
  });

  it("uses the names the operator and config/ really produce", () => {
    const basic = exampleMiniXdr("basic.yaml", "minixdr-e2e");
    expect(script).toContain("examples/basic.yaml");
    expect(script).toContain(`minixdr/${basic.metadata.name}`);
    expect(script).toContain(`service/${names.component(basic, "detector")} "$port:8080"`);
    expect(detectorEndpoint(basic)).toMatch(/:8080$/);
    expect(script).toContain(`get secret ${names.generatedSecret(basic)} `);
    expect(script).toContain(`secret ${secretKeys.ingestToken})`);
    expect(script).toContain(`secret ${secretKeys.adminPassword})`);
    const deployment = parse(readFileSync(join(root, "config/manager/deployment.yaml"), "utf8")) as { metadata: { name: string; namespace: string }; spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
    expect(script).toContain(`-n ${deployment.metadata.namespace} set image deployment/${deployment.metadata.name} ${deployment.spec.template.spec.containers[0]!.name}="$image"`);
    // The image the script builds by default is the one config/manager and the operator's default detector image name.
    const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
    expect(deployment.spec.template.spec.containers[0]!.image).toBe(`ghcr.io/minixdr/minixdr:${version}`);
    expect(script).toContain('default_image="ghcr.io/minixdr/minixdr:$version"');
    expect(defaultImage).toBe(`ghcr.io/minixdr/minixdr:${version}`);
  });
});
