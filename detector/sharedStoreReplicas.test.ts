// Two detector processes on one PostgreSQL: an attack whose events are spread across them yields exactly one incident.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { cowrie } from "../test/detector/fixtures/cowrieRecords.ts";
import { adminPassword, api, ingestTokens, login, post, spawnDetector, writeDetectorFilesOnFreePorts, type DetectorFiles, type DetectorProcess } from "../test/detector/detectorHarness.ts";
import { describePostgres, usePostgres } from "../test/support/postgres.ts";

// bcrypt at cost 12 and child processes are slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const postgres = await usePostgres("replicas");

describePostgres(postgres)("two replicas on one PostgreSQL", () => {
  const files: DetectorFiles[] = [];
  const replicas: DetectorProcess[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      files.push(await writeDetectorFilesOnFreePorts({ storage: { driver: "postgres", path: "/unused" }, databaseUrl: postgres.url }));
    }
    replicas.push(...await Promise.all(files.map((f) => spawnDetector(f))));
  }, 60_000);

  afterAll(async () => {
    for (const r of replicas) {
      r.child.kill("SIGTERM");
      await r.exited;
    }
    for (const f of files) await f.remove();
  });

  it("detects a brute force split across replicas, posted concurrently one event at a time, as one incident", async () => {
    const bot = { srcIp: "203.0.113.77", session: "split01" };
    const events = Array.from({ length: 12 }, (_, i) => cowrie.loginFailed(bot, i * 2, "root", `guess-${i}`));
    // Each replica alone sees 6 events in windows it could not complete without the other's: the shared store joins them.
    // ?wait=true: each answer comes once its event has been through detection, on whichever replica claimed it.
    const results = await Promise.all(events.map((e, i) => post(`${replicas[i % 2]!.url}/api/v1/ingest/cowrie?wait=true`, JSON.stringify(e), ingestTokens.default)));
    expect(results.map((r) => [r.status, r.json.detection])).toEqual(events.map(() => [200, "done"]));

    for (const replica of replicas) {
      const { token } = await login(replica.url, "admin", adminPassword);
      const list = await api(`${replica.url}/api/v1/incidents?technique=T1110.001`, token);
      expect(list.json.total).toBe(1);
      const [incident] = list.json.items as { sourceIp: string; evidence: { total: number }; firstSeen: string; lastSeen: string }[];
      expect(incident).toMatchObject({ sourceIp: bot.srcIp, evidence: { total: 12 }, firstSeen: "2024-05-14T10:00:00.000Z", lastSeen: "2024-05-14T10:00:22.000Z" });
    }
  });

  it("serves metrics from each replica: model inference and detection passes timed, shared-store gauges", async () => {
    let inferences = 0;
    for (const f of files) {
      const text = await (await fetch(`http://127.0.0.1:${f.config.listen.metricsPort}/metrics`)).text();
      expect(text).toMatch(/minixdr_open_incidents\{tenant="default",severity="(medium|high|critical)"\} 1/);
      expect(text).toMatch(/^minixdr_detection_queue_events 0$/m);
      expect(text).toMatch(/minixdr_events_ingested_total\{source="cowrie",tenant="default"\} 6/);
      // Either replica may have claimed any event from the shared queue: together they detected all twelve.
      inferences += Number(/^minixdr_inference_duration_seconds_count (\d+)$/m.exec(text)?.[1] ?? "0");
      expect(text).toMatch(/^minixdr_detection_pass_duration_seconds_count \d+$/m);
    }
    expect(inferences).toBeGreaterThan(0);
  });

  it("shares one first admin and one lockout count across replicas", async () => {
    const [a, b] = replicas as [DetectorProcess, DetectorProcess];
    await api(`${a.url}/api/v1/users`, (await login(a.url, "admin", adminPassword)).token, { method: "POST", body: { username: "rita", password: "Replica-Pass-2024", role: "viewer" } });
    for (let i = 0; i < 5; i++) await login(i % 2 ? a.url : b.url, "rita", `wrong-${i}`);
    expect((await login(a.url, "rita", "Replica-Pass-2024")).status).toBe(423);
    expect((await login(b.url, "rita", "Replica-Pass-2024")).status).toBe(423);
  });

  it("keeps a tenant's admin when its two admins delete each other at once, one on each replica", async () => {
    const [a, b] = replicas as [DetectorProcess, DetectorProcess];
    const root = (await login(a.url, "admin", adminPassword)).token;
    for (const username of ["anna", "bert"]) {
      expect((await api(`${a.url}/api/v1/users`, root, { method: "POST", body: { username, password: "Acme-Admin-Pass-2024", role: "admin", tenant: "acme" } })).status).toBe(201);
    }
    const anna = (await login(a.url, "anna", "Acme-Admin-Pass-2024", "acme")).token;
    const bert = (await login(b.url, "bert", "Acme-Admin-Pass-2024", "acme")).token;
    const [byAnna, byBert] = await Promise.all([
      api(`${a.url}/api/v1/users/bert`, anna, { method: "DELETE" }),
      api(`${b.url}/api/v1/users/anna`, bert, { method: "DELETE" }),
    ]);
    // One goes (204); the other request finds its target the only admin left (409), or its sender already gone (401).
    const statuses = [byAnna.status, byBert.status].sort();
    expect([[204, 409], [204, 401]]).toContainEqual(statuses);
    const survivor = byAnna.status === 204 ? { url: a.url, token: anna, name: "anna" } : { url: b.url, token: bert, name: "bert" };
    const users = await api(`${survivor.url}/api/v1/users`, survivor.token);
    expect(users.status).toBe(200);
    expect((users.json.items as { username: string; role: string }[]).filter((u) => u.role === "admin").map((u) => u.username)).toEqual([survivor.name]);
  });
});
