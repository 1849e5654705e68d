// A login name that is no account locks as an account does across replicas and restarts: its failures are counted in
// the store, so neither a Service spreading logins over replicas nor a restart tells it from an account.
import { afterAll, describe, expect, it, vi } from "vitest";
import { adminPassword, api, login, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import { describePostgres, usePostgres } from "../../test/support/postgres.ts";
import type { RunningDetector } from "../detector.ts";

// bcrypt at cost 12 is slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

const postgres = await usePostgres("unknown_names");

const files: DetectorFiles[] = [];
const running = new Set<RunningDetector>();
afterAll(async () => {
  for (const d of running) await d.close();
  for (const f of files) await f.remove();
});

async function start(f: DetectorFiles): Promise<RunningDetector> {
  const d = await startTestDetector(f);
  running.add(d);
  return d;
}
async function stop(d: RunningDetector): Promise<void> {
  running.delete(d);
  await d.close();
}

/** Each wrong login's status, the n-th sent to `urls[n % urls.length]`. */
async function wrongLogins(urls: string[], username: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await login(urls[i % urls.length]!, username, `Wrong-Guess-${i}`)).status);
  return statuses;
}

async function createViewer(url: string, username: string): Promise<void> {
  const admin = (await login(url, "admin", adminPassword)).token;
  expect((await api(`${url}/api/v1/users`, admin, { method: "POST", body: { username, password: "Real-Account-2024", role: "viewer" } })).status).toBe(201);
}

describePostgres(postgres)("a name that is no account, on two replicas sharing PostgreSQL", () => {
  it("locks after failed logins alternating between the replicas exactly as an account does, and stays locked across restarts", async () => {
    for (let i = 0; i < 2; i++) files.push(await writeDetectorFiles({ storage: { driver: "postgres", path: "/unused" }, databaseUrl: postgres.url }));
    let replicas = [await start(files[0]!), await start(files[1]!)];
    await createViewer(replicas[0]!.url, "real-one");
    const account = await wrongLogins(replicas.map((r) => r.url), "real-one", 8);
    expect(account).toEqual([401, 401, 401, 401, 423, 423, 423, 423]);
    expect(await wrongLogins(replicas.map((r) => r.url), "no-such-one", 8)).toEqual(account);
    // Both replicas restart: both locks are still there, on each.
    for (const r of replicas) await stop(r);
    replicas = [await start(files[0]!), await start(files[1]!)];
    for (const r of replicas) {
      expect((await login(r.url, "real-one", "Real-Account-2024")).status).toBe(423);
      expect((await login(r.url, "no-such-one", "Real-Account-2024")).status).toBe(423);
    }
  });
});

describe("a name that is no account, on SQLite", () => {
  it("stays locked across a restart, as an account does", async () => {
    const f = await writeDetectorFiles();
    files.push(f);
    let detector = await start(f);
    await createViewer(detector.url, "real-one");
    const account = await wrongLogins([detector.url], "real-one", 5);
    expect(account).toEqual([401, 401, 401, 401, 423]);
    expect(await wrongLogins([detector.url], "no-such-one", 5)).toEqual(account);
    await stop(detector);
    detector = await start(f);
    expect((await login(detector.url, "real-one", "Real-Account-2024")).status).toBe(423);
    expect((await login(detector.url, "no-such-one", "Real-Account-2024")).status).toBe(423);
  });
});
