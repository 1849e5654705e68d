// The detector's HTTP surface, in-process on a real SQLite file: ingest auth and validation, incidents API, roles and tenants.
import { deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import { adminPassword, api, ingestTokens, login, post, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import type { RunningDetector } from "../detector.ts";

// bcrypt at cost 12 and child processes are slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const bot = { srcIp: "203.0.113.45", session: "abc123" };
const bruteForce = () => ["root", "admin", "123456", "password", "qwerty", "letmein", "toor"].map((p, i) => cowrie.loginFailed(bot, i * 3, "root", p));
const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n");

let files: DetectorFiles;
let detector: RunningDetector;
let adminToken: string;

beforeAll(async () => {
  files = await writeDetectorFiles({ containment: "block" });
  detector = await startTestDetector(files, { ingestBodyLimitBytes: 64 * 1024 });
  adminToken = (await login(detector.url, "admin", adminPassword)).token;
});
afterAll(async () => {
  await detector?.close();
  await files?.remove();
});

const ingest = (path: string, body: string, token: string = ingestTokens.default, type?: string) => post(`${detector.url}/api/v1/ingest/${path}`, body, token, type);

describe("ingest", () => {
  it("refuses a missing or wrong ingest token with 401 and stores nothing", async () => {
    const body = ndjson(bruteForce());
    expect((await ingest("cowrie", body, "")).status).toBe(401);
    expect((await ingest("cowrie", body, "not-the-token")).status).toBe(401);
    // An API token is not an ingest token.
    expect((await ingest("cowrie", body, adminToken)).status).toBe(401);
    expect(await detector.repository.countEvents("default")).toBe(0);
  });

  it("refuses a malformed batch with 400 naming each bad item and field, and stores none of it", async () => {
    const records = [
      cowrie.loginFailed(bot, 0, "root", "x"),
      { ...cowrie.loginFailed(bot, 1, "root", "y"), src_ip: "999.1.1.1" },
      { ...cowrie.loginFailed(bot, 2, "root", "z"), timestamp: "yesterday" },
      { eventid: "cowrie.command.input", timestamp: "2024-05-14T10:00:00Z", src_ip: "203.0.113.45" },
    ];
    const r = await ingest("cowrie", JSON.stringify(records));
    expect(r.status).toBe(400);
    expect(r.json.issues).toEqual([
      { item: 1, field: "src_ip", message: "must be an IPv4 or IPv6 address (without a zone)" },
      { item: 2, field: "timestamp", message: expect.stringMatching(/ISO-8601/) as string },
      { item: 3, field: "input", message: expect.any(String) as string },
    ]);
    const lines = await ingest("cowrie", `${JSON.stringify(records[0])}\n{"eventid": "cowrie.login.failed",\n`, ingestTokens.default, "application/x-ndjson");
    expect(lines.status).toBe(400);
    expect(lines.json.issues).toEqual([{ item: 1, line: 2, field: "(item)", message: expect.stringMatching(/^not valid JSON/) as string }]);
    // A body of junk gets the first 100 problems, not one per line.
    const junk = await ingest("events", "x\n".repeat(5000), ingestTokens.default, "application/x-ndjson");
    expect(junk.status).toBe(400);
    expect(junk.json).toMatchObject({ error: "invalid batch: nothing was stored; the first 100 problems are listed, the rest of the batch was not checked", truncated: true });
    expect(junk.json.issues).toHaveLength(100);
    expect(await detector.repository.countEvents("default")).toBe(0);
  });

  it("survives hostile bodies and keeps serving", async () => {
    const bodies = ["", "null", "[]", "[null, 1, \"x\"]", "{".repeat(5000), "\u0000\u0001\u0002", JSON.stringify({ eventid: { $gt: "" } }), "[" + "[".repeat(3000) + "]".repeat(3000) + "]",
      JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", items: "nope" })];
    for (const body of bodies) {
      for (const path of ["cowrie", "suricata", "k8s-audit", "events"]) expect((await ingest(path, body)).status).toBe(400);
    }
    expect((await fetch(`${detector.url}/healthz`)).status).toBe(200);
  });

  it("refuses a body that is not UTF-8 with 400 naming the line, so records differing in an invalid byte are not merged", async () => {
    const record = (idBytes: number[], ip: string) => Buffer.concat([Buffer.from('{"id":"evt-'), Buffer.from(idBytes), Buffer.from(`","timestamp":"2024-05-14T10:00:00Z","type":"other","sourceIp":"${ip}"}`)]);
    const send = (body: Buffer, token = ingestTokens.default) => fetch(`${detector.url}/api/v1/ingest/events`, { method: "POST", body, headers: { "content-type": "application/x-ndjson", authorization: `Bearer ${token}` } });
    for (const latin1 of [[0xe9], [0xe8]]) {
      const r = await send(Buffer.concat([record([0x61], "192.0.2.60"), Buffer.from("\n"), record(latin1, "192.0.2.61")]));
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: "the body is not valid UTF-8 (line 2): nothing was stored" });
    }
    expect(await detector.repository.countEvents("default")).toBe(0);
    expect(await (await fetch(detector.metricsUrl)).text()).toMatch(/minixdr_ingest_refused_total\{source="generic",reason="invalid"\} [1-9]/);
    // The same characters in UTF-8 are two different records (sent to tenant acme: default's count matters below).
    const utf8 = await send(Buffer.concat([record([0xc3, 0xa9], "192.0.2.62"), Buffer.from("\n"), record([0xc3, 0xa8], "192.0.2.62")]), ingestTokens.acme);
    expect(await utf8.json()).toMatchObject({ accepted: 2, duplicates: 0 });
  });

  it("takes gzip and deflate bodies (as log shippers send them), and refuses other encodings, bad data and bombs", async () => {
    const records = ndjson([0, 1, 2].map((i) => ({ id: `gz-${i}`, timestamp: "2024-05-14T10:00:00Z", type: "other", sourceIp: "192.0.2.70" })));
    const send = (body: Buffer, encoding: string, path = "events") => fetch(`${detector.url}/api/v1/ingest/${path}`, {
      method: "POST", body, headers: { "content-type": "application/x-ndjson", "content-encoding": encoding, authorization: `Bearer ${ingestTokens.acme}` },
    });
    expect(await (await send(gzipSync(records), "gzip")).json()).toMatchObject({ accepted: 3 });
    expect(await (await send(deflateSync(records), "deflate")).json()).toMatchObject({ accepted: 0, duplicates: 3 });
    const br = await send(Buffer.from(records), "br");
    expect(br.status).toBe(415);
    expect(await br.json()).toEqual({ error: "Content-Encoding br is not supported: send the body as it is, or gzip or deflate it" });
    const bad = await send(Buffer.from(records), "gzip");
    expect(bad.status).toBe(400);
    expect(String((await bad.json() as { error: string }).error)).toMatch(/^the body is not valid gzip data/);
    // A kilobyte that inflates past the body limit (64 KiB here) is refused before it is all in memory.
    const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(4096);
    expect((await send(bomb, "gzip", "suricata")).status).toBe(413);
    expect((await fetch(`${detector.url}/healthz`)).status).toBe(200);
  });

  it("refuses a body over the size limit with 413", async () => {
    const big = ndjson(Array.from({ length: 600 }, (_, i) => cowrie.command(bot, i, "x".repeat(100))));
    expect((await ingest("cowrie", big)).status).toBe(413);
    // Counted under the format's source whatever the sender appends to the URL (no label per query string).
    expect((await ingest("events?shard=23296", big)).status).toBe(413);
    const text = await (await fetch(detector.metricsUrl)).text();
    expect(text).toMatch(/minixdr_ingest_refused_total\{source="generic",reason="too_large"\} 1/);
    expect(text).not.toMatch(/shard=/);
  });

  it("stores a batch before acknowledging it, and a retried batch is not counted twice", async () => {
    const body = ndjson(bruteForce().slice(0, 3));
    expect((await ingest("cowrie", body)).json).toMatchObject({ accepted: 3, duplicates: 0 });
    expect(await detector.repository.countEvents("default")).toBe(3);
    expect((await ingest("cowrie", body)).json).toMatchObject({ accepted: 0, duplicates: 3 });
  });
});

describe("incidents API", () => {
  let incidentId: string;

  beforeAll(async () => {
    const r = await ingest("cowrie?wait=true", ndjson(bruteForce()));
    expect(r.status).toBe(200);
  });

  it("lists the brute force with its ATT&CK technique, event-time bounds and evidence", async () => {
    const r = await api(`${detector.url}/api/v1/incidents?technique=T1110.001`, adminToken);
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(1);
    const [incident] = r.json.items as Record<string, unknown>[];
    expect(incident).toMatchObject({
      tenant: "default", sourceIp: bot.srcIp, status: "open",
      techniques: [{ id: "T1110.001", name: "Brute Force: Password Guessing", tactic: "Credential Access" }],
      firstSeen: "2024-05-14T10:00:00.000Z", lastSeen: "2024-05-14T10:00:18.000Z",
      evidence: { counts: { "auth.failure": 7 }, total: 7 },
      detectedBy: { rules: ["ssh-brute-force"] },
      recommendedAction: { type: "block", sourceIp: bot.srcIp },
    });
    incidentId = String(incident!.id);
    const one = await api(`${detector.url}/api/v1/incidents/${incidentId}`, adminToken);
    // UUIDs are case-insensitive.
    expect((await api(`${detector.url}/api/v1/incidents/${incidentId.toUpperCase()}`, adminToken)).json).toEqual(one.json);
    expect((one.json.evidence as { events: unknown[] }).events).toHaveLength(7);
  });

  it("updates the same incident when more of the attack arrives, instead of opening another", async () => {
    const more = [8, 9].map((n) => cowrie.loginFailed(bot, 20 + n, "root", `guess${n}`));
    await ingest("cowrie?wait=true", ndjson(more));
    const r = await api(`${detector.url}/api/v1/incidents`, adminToken);
    expect(r.json.total).toBe(1);
    expect((r.json.items as Record<string, unknown>[])[0]).toMatchObject({ id: incidentId, evidence: { total: 9 }, lastSeen: "2024-05-14T10:00:29.000Z" });
  });

  it("validates filters and pages", async () => {
    expect((await api(`${detector.url}/api/v1/incidents?status=closed`, adminToken)).status).toBe(400);
    const unknown = await api(`${detector.url}/api/v1/incidents?colour=red`, adminToken);
    expect(unknown.json.issues).toEqual([{ field: "colour", message: "unknown field" }]);
    expect((await api(`${detector.url}/api/v1/incidents?limit=1&offset=1`, adminToken)).json).toMatchObject({ items: [], total: 1, limit: 1, offset: 1 });
    expect((await api(`${detector.url}/api/v1/incidents/not-a-uuid`, adminToken)).status).toBe(400);
    expect((await api(`${detector.url}/api/v1/incidents/00000000-0000-4000-8000-000000000000`, adminToken)).status).toBe(404);
  });

  it("lets an analyst change status, not a viewer; the status is an enum", async () => {
    const created = await api(`${detector.url}/api/v1/users`, adminToken, { method: "POST", body: { username: "vera", password: "Viewer-Pass-2024", role: "viewer" } });
    expect(created.status).toBe(201);
    await api(`${detector.url}/api/v1/users`, adminToken, { method: "POST", body: { username: "anna", password: "Analyst-Pass-2024", role: "analyst" } });
    const viewer = (await login(detector.url, "vera", "Viewer-Pass-2024")).token;
    const analyst = (await login(detector.url, "anna", "Analyst-Pass-2024")).token;
    const url = `${detector.url}/api/v1/incidents/${incidentId}`;
    expect((await api(url, viewer)).status).toBe(200);
    const before = (await api(url, viewer)).json.status;
    expect((await api(url, viewer, { method: "PATCH", body: { status: "acknowledged" } })).status).toBe(403);
    // The refusal stops the request: the status is as it was.
    expect((await api(url, viewer)).json.status).toBe(before);
    expect((await api(url, analyst, { method: "PATCH", body: { status: "closed" } })).status).toBe(400);
    const patched = await api(url, analyst, { method: "PATCH", body: { status: "contained" } });
    expect(patched.json).toMatchObject({ status: "contained", statusChangedBy: "anna" });
    expect((await api(`${detector.url}/api/v1/incidents?status=contained`, viewer)).json.total).toBe(1);
    expect((await api(`${detector.url}/api/v1/users`, analyst)).status).toBe(403);
    expect((await api(`${detector.url}/api/v1/users`, analyst, { method: "POST", body: { username: "x", password: "Whatever-Pass-1", role: "admin" } })).status).toBe(403);
  });

  it("keeps tenants apart on every query", async () => {
    await api(`${detector.url}/api/v1/users`, adminToken, { method: "POST", body: { username: "admin", password: "nope", role: "admin" } });
    // The acme tenant's own events and user: nothing of default's is visible to it, and the reverse.
    const acmeBot = { srcIp: "198.51.100.200", session: "acme1" };
    expect((await ingest("cowrie?wait=true", ndjson(["a", "b", "c", "d", "e", "f"].map((p, i) => cowrie.loginFailed(acmeBot, i, "root", p))), ingestTokens.acme)).status).toBe(200);
    expect(await detector.repository.createUser({ tenant: "acme", username: "carol", passwordHash: (await detector.repository.findUser("default", "admin"))!.passwordHash, role: "admin", failedLogins: 0, lockedUntil: 0, createdAt: 0 })).toBe(true);
    const carol = (await login(detector.url, "carol", adminPassword, "acme")).token;
    const acmeList = await api(`${detector.url}/api/v1/incidents`, carol);
    expect((acmeList.json.items as { sourceIp: string; tenant: string }[]).map((i) => [i.tenant, i.sourceIp])).toEqual([["acme", acmeBot.srcIp]]);
    expect((await api(`${detector.url}/api/v1/incidents/${incidentId}`, carol)).status).toBe(404);
    expect((await api(`${detector.url}/api/v1/incidents/${incidentId}`, carol, { method: "PATCH", body: { status: "resolved" } })).status).toBe(404);
    expect((await api(`${detector.url}/api/v1/incidents?sourceIp=${acmeBot.srcIp}`, adminToken)).json.total).toBe(0);
    expect((await api(`${detector.url}/api/v1/users`, carol)).json.items).toEqual([expect.objectContaining({ username: "carol" })]);
    // The acme user's password does not log in to default.
    expect((await login(detector.url, "carol", adminPassword, "default")).status).toBe(401);
  });
});

describe("users and passwords", () => {
  it("enforces the password policy and refuses duplicates", async () => {
    const weak = await api(`${detector.url}/api/v1/users`, adminToken, { method: "POST", body: { username: "bob", password: "short", role: "viewer" } });
    expect(weak.status).toBe(400);
    expect((weak.json.issues as { field: string }[]).every((i) => i.field === "password")).toBe(true);
    const withName = await api(`${detector.url}/api/v1/users`, adminToken, { method: "POST", body: { username: "bobby", password: "Bobby-Password-99", role: "viewer" } });
    expect(withName.json.issues).toEqual([{ field: "password", message: "must not contain the username" }]);
    expect((await api(`${detector.url}/api/v1/users`, adminToken, { method: "POST", body: { username: "vera", password: "Another-Pass-2024", role: "viewer" } })).status).toBe(409);
    const stored = await detector.repository.findUser("default", "vera");
    expect(stored?.passwordHash).toMatch(/^\$2[aby]\$12\$/);
  });
});

describe("operations", () => {
  it("counts refused ingest requests, not their bad items: a batch with three bad records is one refusal", async () => {
    const refused = async () => Number(/^minixdr_ingest_refused_total\{source="generic",reason="invalid"\} (\d+)$/m.exec(await (await fetch(detector.metricsUrl)).text())?.[1] ?? 0);
    const before = await refused();
    const bad = (i: number) => JSON.stringify({ id: `bad-${i}`, timestamp: "2024-05-14T10:00:00Z", type: "other", sourceIp: "not-an-ip" });
    const r = await fetch(`${detector.url}/api/v1/ingest/events`, { method: "POST", body: [1, 2, 3].map(bad).join("\n"), headers: { "content-type": "application/x-ndjson", authorization: `Bearer ${ingestTokens.default}` } });
    expect(r.status).toBe(400);
    expect(await refused()).toBe(before + 1);
  });

  it("reports alive and ready", async () => {
    expect((await fetch(`${detector.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${detector.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { database: { driver: "sqlite", status: "ok" } } });
  });

  it("serves metrics on the metrics port: ingested, rejected, detections, latencies, open incidents", async () => {
    const text = await (await fetch(detector.metricsUrl)).text();
    expect(text).toMatch(/minixdr_events_ingested_total\{source="cowrie",tenant="default"\} 9/);
    expect(text).toMatch(/minixdr_ingest_refused_total\{source="cowrie",reason="unauthorized"\} 3/);
    expect(text).toMatch(/minixdr_ingest_refused_total\{source="cowrie",reason="invalid"\} [1-9]/);
    expect(text).toMatch(/minixdr_ingest_refused_total\{source="cowrie",reason="too_large"\} 1/);
    expect(text).toMatch(/minixdr_detections_total\{technique="T1110.001",rule="ssh-brute-force"\} [1-9]/);
    expect(text).toMatch(/minixdr_ingest_duration_seconds_count\{source="cowrie"\} [1-9]/);
    expect(text).toMatch(/minixdr_inference_duration_seconds_bucket/);
    expect(text).toMatch(/minixdr_open_incidents\{tenant="acme",severity="medium"\} 1/);
    expect((await fetch(`${detector.url}/metrics`)).status).toBe(404);
  });
});
