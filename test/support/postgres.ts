// PostgreSQL for tests: one throwaway cluster per vitest run (started by the first test file that asks, installed from
// Debian's packages if needed), and a fresh database per test file. Under CI=true an unavailable PostgreSQL fails the
// file; locally it skips with the reason.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { describe, inject } from "vitest";

const run = promisify(execFile);
const startScript = join(import.meta.dirname, "../postgres/start.sh");

export interface TestPostgres {
  /** URL of a database of this test file's own; empty when unavailable. */
  url: string;
  /** Empty when PostgreSQL runs; otherwise why the tests skip. */
  unavailable: string;
  /** Another fresh database on the same server (e.g. one per scenario). */
  freshDatabase(prefix: string): Promise<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server URL for this run, starting the cluster if no test file has yet; several workers may ask at once. */
async function serverUrl(): Promise<string> {
  const state = inject("postgresStateDir");
  const urlFile = join(state, "url");
  const errorFile = join(state, "error");
  const lock = join(state, "starting");
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    if (existsSync(urlFile)) return (await readFile(urlFile, "utf8")).trim();
    if (existsSync(errorFile)) throw new Error(await readFile(errorFile, "utf8"));
    try {
      await mkdir(lock);
      break;
    } catch {
      // Another worker is starting it (installing can take minutes).
      if (Date.now() > deadline) throw new Error("timed out waiting for another test worker to start PostgreSQL");
      await sleep(250);
    }
  }
  try {
    const { stdout } = await run("bash", [startScript, "start", join(state, "cluster")], { timeout: 14 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    const url = stdout.trim().split("\n").at(-1) ?? "";
    if (!url.startsWith("postgres://")) throw new Error(`start.sh printed no URL: ${stdout}`);
    await writeFile(urlFile, url);
    return url;
  } catch (err) {
    const e = err as { code?: number; stderr?: string; message: string };
    e.stderr = e.stderr?.replace(/^\[postgres\] /gm, "");
    const message = e.code === 3
      ? `PostgreSQL tests skipped: ${e.stderr?.trim() ?? "PostgreSQL is not installed"}`
      : `PostgreSQL could not be started by test/postgres/start.sh: ${e.stderr?.trim() || e.message}`;
    await writeFile(errorFile, message);
    throw new Error(message, { cause: err });
  }
}

async function createDatabase(server: string, prefix: string): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/g, "_")}_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Call at the top level of a test file: `const postgres = await usePostgres("store")`. */
export async function usePostgres(prefix: string): Promise<TestPostgres> {
  try {
    const server = await serverUrl();
    return { url: await createDatabase(server, prefix), unavailable: "", freshDatabase: (p) => createDatabase(server, p) };
  } catch (err) {
    const message = (err as Error).message;
    // Under CI a PostgreSQL test never skips: the file fails with the reason.
    if (process.env.CI === "true") throw err;
    process.stderr.write(`${message}\n`);
    return { url: "", unavailable: message, freshDatabase: () => Promise.reject(new Error(message)) };
  }
}

/** A describe block that needs PostgreSQL; it skips (with the reason printed) only outside CI. */
export function describePostgres(postgres: TestPostgres): typeof describe {
  return describe.skipIf(postgres.unavailable !== "") as typeof describe;
}
