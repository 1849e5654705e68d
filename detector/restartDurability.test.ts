// What the detector acknowledged survives a crash (SIGKILL right after the answer); SIGTERM lets in-flight requests finish.
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cowrie } from "../test/detector/fixtures/cowrieRecords.ts";
import { adminPassword, api, ingestTokens, login, post, spawnDetector, writeDetectorFilesOnFreePorts, type DetectorFiles } from "../test/detector/detectorHarness.ts";
import { usePostgres } from "../test/support/postgres.ts";
import { PostgresRepository } from "./store/postgresRepository.ts";
import type { Repository } from "./store/repository.ts";
import { SqliteRepository } from "./store/sqliteRepository.ts";

// bcrypt at cost 12 and child processes are slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const postgres = await usePostgres("restart");
const bot = { srcIp: "203.0.113.88", session: "crash01" };
const attack = Array.from({ length: 7 }, (_, i) => cowrie.loginFailed(bot, i * 3, "root", `pw-${i}`)).map((r) => JSON.stringify(r)).join("\n");

const backends = [
  { name: "SQLite", skip: "", files: () => writeDetectorFilesOnFreePorts() },
  { name: "PostgreSQL", skip: postgres.unavailable, files: () => writeDetectorFilesOnFreePorts({ storage: { driver: "postgres", path: "/unused" }, databaseUrl: postgres.url }) },
];

describe.each(backends)("$name", ({ skip, files: makeFiles }) => {
  let files: DetectorFiles;
  beforeAll(async () => {
    if (!skip) files = await makeFiles();
  });
  afterAll(() => files?.remove());

  const openStore = (): Repository => files.config.storage.driver === "postgres"
    ? new PostgresRepository(postgres.url)
    : new SqliteRepository(join(files.config.storage.path));

  it.skipIf(skip !== "")("loses no acknowledged event or incident when killed right after acknowledging", async () => {
    const first = await spawnDetector(files);
    const ack = await post(`${first.url}/api/v1/ingest/cowrie`, attack, ingestTokens.default, "application/x-ndjson");
    first.child.kill("SIGKILL");
    await first.exited;
    expect(ack.status).toBe(200);
    expect(ack.json).toMatchObject({ accepted: 7, detection: "queued" });
    // Killed before its detection pass: the acknowledged events wait in the store's detection queue.
    let store = openStore();
    expect(await store.countEvents("default")).toBe(7);
    expect(await store.countQueued()).toBe(7);
    await store.close();

    const second = await spawnDetector(files);
    try {
      const { token } = await login(second.url, "admin", adminPassword);
      // The restarted detector detects what the killed one acknowledged.
      const bruteForces = async () => (await api(`${second.url}/api/v1/incidents?technique=T1110.001`, token)).json.items as { id: string }[];
      await expect.poll(bruteForces, { timeout: 20_000 }).toHaveLength(1);
      const incident = await api(`${second.url}/api/v1/incidents/${(await bruteForces())[0]!.id}`, token);
      expect(incident.json).toMatchObject({ sourceIp: bot.srcIp, evidence: { total: 7 } });
      // Re-sending the acknowledged batch adds nothing: it was all stored.
      expect((await post(`${second.url}/api/v1/ingest/cowrie`, attack, ingestTokens.default)).json).toMatchObject({ accepted: 0, duplicates: 7 });
      // An incident the detector answered with is as durable as the events behind it.
      const waited = await post(`${second.url}/api/v1/ingest/cowrie?wait=true`, JSON.stringify(cowrie.loginFailed(bot, 30, "root", "pw-late")), ingestTokens.default);
      expect(waited.json).toMatchObject({ accepted: 1, detection: "done", incidents: [{ technique: "T1110.001", created: false }] });
      second.child.kill("SIGKILL");
      await second.exited;
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
    store = openStore();
    expect(await store.countEvents("default")).toBe(8);
    expect(await store.countQueued()).toBe(0);
    expect((await store.listIncidents("default", { limit: 10, offset: 0 })).items).toEqual([expect.objectContaining({ evidence: { counts: { "auth.failure": 8 }, total: 8 } })]);
    await store.close();
  });

  it.skipIf(skip !== "")("on SIGTERM finishes a request already in flight, then exits cleanly", async () => {
    const detector = await spawnDetector(files);
    const body = Buffer.from(Array.from({ length: 5 }, (_, i) => JSON.stringify(cowrie.command(bot, 100 + i, `echo in-flight-${i}`))).join("\n"));
    const url = new URL(`${detector.url}/api/v1/ingest/cowrie`);
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { authorization: `Bearer ${ingestTokens.default}`, "content-type": "application/x-ndjson", "content-length": body.length } }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("error", reject);
      // Half the body now, SIGTERM, then the rest: the request is in flight when the signal arrives.
      req.write(body.subarray(0, body.length / 2));
      setTimeout(() => {
        detector.child.kill("SIGTERM");
        setTimeout(() => req.end(body.subarray(body.length / 2)), 300);
      }, 200);
    });
    const answered = await response.catch((err: unknown) => { throw new Error(`${String(err)}\n${detector.output()}`); });
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ accepted: 5 });
    expect(await detector.exited).toBe(0);
    expect(detector.output()).toMatch(/stopping: finishing in-flight requests/);
    const store = openStore();
    expect(await store.countEvents("default")).toBe(13);
    await store.close();
  });
});

describe("SIGTERM", () => {
  it("on SIGTERM goes on serving, not ready, while its endpoint is removed, then stops", async () => {
    const files = await writeDetectorFilesOnFreePorts();
    let detector: Awaited<ReturnType<typeof spawnDetector>> | undefined;
    try {
      detector = await spawnDetector(files, { MINIXDR_SHUTDOWN_DRAIN_SECONDS: "2" });
      expect((await fetch(`${detector.url}/readyz`)).status).toBe(200);
      const signalled = Date.now();
      detector.child.kill("SIGTERM");
      await vi.waitFor(async () => expect((await fetch(`${detector!.url}/readyz`)).status).toBe(503), { timeout: 1_000, interval: 20 });
      // Still serving: a sender whose connection came before the endpoint left is answered, and told to reconnect.
      const res = await fetch(`${detector.url}/api/v1/ingest/cowrie`, { method: "POST", body: JSON.stringify(cowrie.loginFailed(bot, 99, "root", "pw-drain")), headers: { authorization: `Bearer ${ingestTokens.default}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("connection")).toBe("close");
      expect(await detector.exited).toBe(0);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(2_000);
    } finally {
      if (detector?.child.exitCode === null) detector.child.kill("SIGKILL");
      await files.remove();
    }
  });
});
