// The cluster tests' contract when no control plane can be had: skip with directions locally, fail under CI=true.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const emptyCache = mkdtempSync(join(tmpdir(), "minixdr-empty-cache-"));
afterAll(() => rmSync(emptyCache, { recursive: true, force: true }));

/** Runs the control-plane smoke tests with no cached binaries and no Go on PATH. */
function runClusterTestsWithoutBinaries(ci: boolean) {
  const env: NodeJS.ProcessEnv = {
    PATH: [join(root, "node_modules/.bin"), dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
    HOME: process.env.HOME,
    MINIXDR_CACHE: emptyCache,
    ...(ci ? { CI: "true" } : {}),
  };
  return spawnSync(join(root, "node_modules/.bin/vitest"), ["run", "--project", "cluster", "test/cluster/control-plane.test.ts"], {
    cwd: root, env, encoding: "utf8", timeout: 120_000,
  });
}

describe("cluster tests without a control plane", () => {
  it("skip locally and say how to get the binaries", () => {
    const run = runClusterTestsWithoutBinaries(false);
    const out = run.stdout + run.stderr;
    expect(out).toContain("cluster tests skipped: no control plane binaries and no Go toolchain");
    expect(out).toContain("test/controlplane/build-binaries.sh");
    expect(out).toMatch(/5 skipped/);
    expect(run.status).toBe(0);
  });

  it("fail under CI=true", () => {
    const run = runClusterTestsWithoutBinaries(true);
    const out = run.stdout + run.stderr;
    expect(run.status).not.toBe(0);
    expect(out).toContain("Go is needed to build the control plane");
    expect(out).not.toMatch(/\d+ passed/);
  });
});
