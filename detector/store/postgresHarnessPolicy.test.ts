// The PostgreSQL tests' contract when no PostgreSQL can be had: skip locally with the reason, fail under CI=true.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, describe, expect, it, vi } from "vitest";
import { repoRoot } from "../../test/detector/detectorHarness.ts";

// bcrypt at cost 12 and child processes are slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const emptyLibDir = mkdtempSync(join(tmpdir(), "minixdr-no-postgres-"));
afterAll(() => rmSync(emptyLibDir, { recursive: true, force: true }));

function runContractWithoutPostgres(ci: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, MINIXDR_POSTGRES_LIBDIR: emptyLibDir, MINIXDR_POSTGRES_NO_INSTALL: "1" };
  delete env.CI;
  if (ci) env.CI = "true";
  return spawnSync(join(repoRoot, "node_modules/.bin/vitest"), ["run", "--project", "unit", "detector/store/postgresRepository.test.ts"], {
    cwd: repoRoot, env, encoding: "utf8", timeout: 120_000,
  });
}

describe("PostgreSQL tests without PostgreSQL", () => {
  it("skip locally and say why", () => {
    const run = runContractWithoutPostgres(false);
    const out = run.stdout + run.stderr;
    expect(out).toContain("PostgreSQL tests skipped: PostgreSQL is not installed and cannot be installed here");
    // Every test of the suite is skipped (none run, none fail): "Tests  N skipped (N)".
    expect(stripVTControlCharacters(out)).toMatch(/Tests\s+(\d+) skipped \(\1\)/);
    expect(run.status).toBe(0);
  });

  it("fail under CI=true", () => {
    const run = runContractWithoutPostgres(true);
    const out = run.stdout + run.stderr;
    expect(run.status).not.toBe(0);
    expect(out).toContain("PostgreSQL is not installed and cannot be installed here");
    expect(out).not.toMatch(/\d+ passed/);
  });
});
