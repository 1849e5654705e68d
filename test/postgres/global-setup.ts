// vitest global setup: a state directory for this run's PostgreSQL, which test/support/postgres.ts starts on first use
// (so runs that need no database pay nothing), and its teardown stops whatever was started.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Where this run's PostgreSQL cluster lives once a test has started it. */
    postgresStateDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "minixdr-pg-"));
  // The server runs as user postgres and must reach the cluster directory inside.
  await chmod(dir, 0o755);
  project.provide("postgresStateDir", dir);
  return async () => {
    const cluster = join(dir, "cluster");
    if (existsSync(cluster)) spawnSync("bash", [join(import.meta.dirname, "start.sh"), "stop", cluster], { stdio: "inherit", timeout: 60_000 });
    await rm(dir, { recursive: true, force: true });
  };
}
