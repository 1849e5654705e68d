// Detection off the ingest path, on a real SQLite store: acknowledged once stored and queued, detected in background
// passes, `?wait=true` for callers that want the incidents, back-pressure when detection is behind, failed passes retried.
import { DatabaseSync } from "node:sqlite";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import type { AnomalyModel } from "../anomaly/anomalyModel.ts";
import { adminPassword, api, ingestTokens, login, post, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import { detectionConfigSchema } from "../config/detectorConfig.ts";
import type { DetectorOptions, RunningDetector } from "../detector.ts";
import { ingestFormats } from "../ingest/formats.ts";
import { ingestBatch } from "../ingest/ingestBatch.ts";
import { bruteForceRule } from "../rules/bruteForceRule.ts";
import type { DetectionRule } from "../rules/detectionRule.ts";
import type { Repository } from "../store/repository.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { DetectionEngine } from "./detectionEngine.ts";
import { DetectionLoop } from "./detectionLoop.ts";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n");
const bruteForce = (srcIp: string, from = 0) => Array.from({ length: 7 }, (_, i) => cowrie.loginFailed({ srcIp, session: `s-${srcIp}` }, from + i * 3, "root", `pw-${from}-${i}`));

describe("the detector's ingest with background detection", () => {
  let files: DetectorFiles | undefined;
  let detector: RunningDetector | undefined;
  afterEach(async () => {
    await detector?.close();
    await files?.remove();
    detector = undefined;
    files = undefined;
  });

  async function start(detection: DetectorOptions["detection"], logLines?: string[], more: Partial<DetectorOptions> = {}) {
    files = await writeDetectorFiles();
    detector = await startTestDetector(files, { detection, ...(logLines ? { logger: pino({ level: "info" }, { write: (line: string) => void logLines.push(line) }) } : {}), ...more });
    const token = (await login(detector.url, "admin", adminPassword)).token;
    const ingest = (query: string, records: unknown[]) => post(`${detector!.url}/api/v1/ingest/cowrie${query}`, ndjson(records), ingestTokens.default, "application/x-ndjson");
    const incidents = async () => (await api(`${detector!.url}/api/v1/incidents`, token)).json.items as { id: string; sourceIp: string; evidence: { total: number } }[];
    return { detector, ingest, incidents };
  }

  it("acknowledges a batch once it is stored and queued, then detects it in the background", async () => {
    // A pass waits a minute for more events: the acknowledgement cannot have waited for detection.
    const { detector, ingest, incidents } = await start({ lingerMs: 60_000 });
    const ack = await ingest("", bruteForce("203.0.113.31"));
    expect(ack.status).toBe(200);
    expect(ack.json).toEqual({ accepted: 7, duplicates: 0, ignored: 0, detection: "queued" });
    expect(await detector.repository.countQueued()).toBe(7);
    expect(await incidents()).toEqual([]);
    // Stopping detects what is still queued before closing the store.
    await detector.close();
    const reopened = new SqliteRepository(files!.config.storage.path);
    await reopened.migrate();
    expect(await reopened.countQueued()).toBe(0);
    expect((await reopened.listIncidents("default", { limit: 10, offset: 0 })).items).toEqual([expect.objectContaining({ sourceIp: "203.0.113.31", evidence: { counts: { "auth.failure": 7 }, total: 7 } })]);
    await reopened.close();
  });

  it("detects without being asked shortly after the acknowledgement, and logs the incidents it raised", async () => {
    const lines: string[] = [];
    const { detector, ingest, incidents } = await start({}, lines);
    expect((await ingest("", bruteForce("203.0.113.32"))).json).toMatchObject({ accepted: 7, detection: "queued" });
    await expect.poll(incidents, { timeout: 10_000 }).toEqual([expect.objectContaining({ sourceIp: "203.0.113.32", evidence: expect.objectContaining({ total: 7 }) as unknown })]);
    expect(await detector.repository.countQueued()).toBe(0);
    const raised = lines.map((l) => JSON.parse(l) as { msg: string; incidents?: { sourceIp: string; technique: string }[] }).filter((l) => l.msg === "incidents raised");
    expect(raised.flatMap((l) => l.incidents ?? [])).toContainEqual(expect.objectContaining({ sourceIp: "203.0.113.32", technique: "T1110.001" }));
  });

  it("with ?wait=true answers after detection, naming the incidents the batch raised or updated", async () => {
    const { ingest } = await start({ lingerMs: 60_000 });
    const first = await ingest("?wait=true", bruteForce("203.0.113.33"));
    expect(first.json).toMatchObject({ accepted: 7, detection: "done", incidents: [{ technique: "T1110.001", created: true }] });
    const id = (first.json.incidents as { id: string }[])[0]!.id;
    const more = await ingest("?wait=true", bruteForce("203.0.113.33", 21));
    expect(more.json).toMatchObject({ accepted: 7, detection: "done", incidents: [{ id, technique: "T1110.001", created: false }] });
    expect((await ingest("?wait=maybe", bruteForce("203.0.113.33", 50))).status).toBe(400);
  });

  it("stores and acknowledges batches while a detection pass is still computing (the pass holds the store only to write)", async () => {
    let scored!: () => void;
    const modelCalled = new Promise<void>((r) => (scored = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A model that answers only when the test lets it: the pass is held mid-computation, after its reads.
    const heldModel: AnomalyModel = { version: "held-test-model", score: async (rows) => { scored(); await gate; return rows.map(() => 0.01); } };
    const { detector, ingest, incidents } = await start({ lingerMs: 10 }, undefined, { anomalyModel: heldModel });
    expect((await ingest("", bruteForce("203.0.113.37"))).status).toBe(200);
    await modelCalled;
    const during = ingest("", bruteForce("203.0.113.38"));
    const answered = await Promise.race([during.then((r) => r.status), new Promise((r) => setTimeout(() => r("still waiting after 5 s"), 5000))]);
    release();
    expect(answered).toBe(200);
    // Both batches are detected: the second by the pass after the held one.
    await expect.poll(async () => (await incidents()).map((i) => i.sourceIp).sort(), { timeout: 10_000 }).toEqual(["203.0.113.37", "203.0.113.38"]);
    expect(await detector.repository.countQueued()).toBe(0);
  });

  it("answers 503 with Retry-After when detection is behind, storing nothing of the refused batch", async () => {
    const { detector, ingest } = await start({ lingerMs: 60_000, maxQueuedEvents: 10 });
    expect((await ingest("", bruteForce("203.0.113.34"))).status).toBe(200);
    expect((await ingest("", bruteForce("203.0.113.35"))).status).toBe(200);
    const refused = await fetch(`${detector.url}/api/v1/ingest/cowrie`, { method: "POST", headers: { authorization: `Bearer ${ingestTokens.default}` }, body: ndjson(bruteForce("203.0.113.36")) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(((await refused.json()) as { error: string }).error).toMatch(/detection is behind \(14 events queued\)/);
    expect(await detector.repository.countEvents("default")).toBe(14);
    // A refusal starts a pass at once (no lingering): detection catches up and ingest is open again.
    await expect.poll(async () => (await ingest("", bruteForce("203.0.113.36"))).status, { timeout: 10_000 }).toBe(200);
    expect(await detector.repository.countEvents("default")).toBe(21);
  });
});

describe("DetectionLoop", () => {
  const log = pino({ level: "silent" });

  async function store() {
    const repository = new SqliteRepository(":memory:");
    await repository.migrate();
    const send = async (records: unknown[]) => {
      const r = await ingestBatch({ repository }, ingestFormats.cowrie!, ndjson(records), "default", Date.now());
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r;
    };
    return { repository, send };
  }

  it("keeps the events of a failed pass queued and detects them on the retry", async () => {
    const { repository, send } = await store();
    let failures = 0;
    const flaky: DetectionRule = { ...bruteForceRule, name: "flaky", detect: () => (failures++ === 0 ? (() => { throw new Error("rule crashed"); })() : []) };
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules: [flaky, bruteForceRule] });
    const failed: string[] = [];
    const loop = new DetectionLoop({ repository, engine, log, lingerMs: 0, retryMs: 50, onFailure: (err) => failed.push(err.message) });
    const r = await send(bruteForce("203.0.113.40"));
    loop.queued(r.accepted);
    await expect.poll(async () => (await repository.listIncidents("default", { limit: 10, offset: 0 })).total, { timeout: 10_000 }).toBe(1);
    expect(failed).toEqual(["rule crashed"]);
    expect(await repository.countQueued()).toBe(0);
    const [incident] = (await repository.listIncidents("default", { limit: 10, offset: 0 })).items;
    expect(incident!.evidence.total).toBe(7);
    await loop.stop();
    await repository.close();
  });

  it("gathers what arrives while it lingers into one pass, and stop() detects what is still queued", async () => {
    const { repository, send } = await store();
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules: [bruteForceRule] });
    const passes: number[] = [];
    const loop = new DetectionLoop({ repository, engine, log, lingerMs: 200, onPass: (p) => passes.push(p.events.length) });
    for (let i = 0; i < 3; i++) loop.queued((await send(bruteForce(`203.0.113.${50 + i}`))).accepted);
    await expect.poll(() => passes, { timeout: 10_000 }).toEqual([21]);
    loop.queued((await send(bruteForce("203.0.113.60"))).accepted);
    await loop.stop();
    expect(passes).toEqual([21, 7]);
    expect((await repository.listIncidents("default", { limit: 10, offset: 0 })).total).toBe(4);
    await repository.close();
  });

  it("after a slow pass, gathers a burst into one pass that starts once ingest is quiet, not a whole linger later", async () => {
    const { repository, send } = await store();
    let slowMs = 1500;
    const starts: number[] = [];
    // A rule that takes `slowMs` the first time (a pass over a large history), so the loop's linger grows to that.
    const slow: DetectionRule = { ...bruteForceRule, name: "slow", detect: (input) => {
      starts.push(performance.now());
      const until = performance.now() + slowMs;
      while (performance.now() < until) { /* busy, like a long pass */ }
      slowMs = 0;
      return bruteForceRule.detect(input);
    } };
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules: [slow] });
    const passes: number[] = [];
    const loop = new DetectionLoop({ repository, engine, log, lingerMs: 150, onPass: (p) => passes.push(p.events.length) });
    loop.queued((await send(bruteForce("203.0.113.70"))).accepted);
    await expect.poll(() => passes, { timeout: 10_000 }).toEqual([7]);
    // A burst: five batches 10 ms apart, well inside the 1.5 s linger the slow pass left; then quiet.
    for (let i = 0; i < 5; i++) {
      loop.queued((await send(bruteForce(`203.0.113.${71 + i}`))).accepted);
      await new Promise((r) => setTimeout(r, 10));
    }
    const lastQueued = performance.now();
    await expect.poll(() => passes, { timeout: 10_000 }).toEqual([7, 35]);
    // 150 ms of quiet, not the 1.5 s linger.
    expect(starts[1]! - lastQueued).toBeLessThan(900);
    await loop.stop();
    await repository.close();
  });

  it("stops counting events another replica detected against its back-pressure", async () => {
    // Two loops on one store stand for two replicas sharing a queue: B detects what A queued.
    const { repository, send } = await store();
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules: [bruteForceRule] });
    const a = new DetectionLoop({ repository, engine, log, lingerMs: 60_000 });
    const b = new DetectionLoop({ repository, engine, log, lingerMs: 60_000 });
    a.queued((await send(bruteForce("203.0.113.70"))).accepted);
    expect(a.outstanding).toBe(7);
    b.catchUp();
    await expect.poll(() => repository.countQueued(), { timeout: 10_000 }).toBe(0);
    a.catchUp();
    await expect.poll(() => a.outstanding, { timeout: 10_000 }).toBe(0);
    await a.stop();
    await b.stop();
    await repository.close();
  });

  it("picks up, while idle, events another replica queued and never detected (it died)", async () => {
    const { repository, send } = await store();
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules: [bruteForceRule] });
    const survivor = new DetectionLoop({ repository, engine, log, lingerMs: 60_000, idlePollMs: 100 });
    survivor.start();
    // Its start-up pass (over an empty queue) is done well within this.
    await new Promise((r) => setTimeout(r, 500));
    // The other replica stored and acknowledged a batch, then died before its pass: nothing tells the survivor.
    await send(bruteForce("203.0.113.75"));
    expect(await repository.countQueued()).toBe(7);
    await expect.poll(() => repository.countQueued(), { timeout: 10_000 }).toBe(0);
    expect((await repository.listIncidents("default", { limit: 10, offset: 0 })).items.map((i) => i.sourceIp)).toEqual(["203.0.113.75"]);
    await survivor.stop();
    await repository.close();
  });

  /**
   * A brute-force engine whose first `outages` passes fail with `err`, as the store failing under them would make
   * them; `failed()` says how many did.
   */
  function failingFirst(outages: number, err: Error): { engine: DetectionEngine; failed: () => number } {
    let failed = 0;
    const real = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules: [bruteForceRule] });
    const engine = new Proxy(real, {
      get: (target, prop, receiver) => (prop === "detectIn"
        ? (...args: Parameters<DetectionEngine["detectIn"]>) => (failed < outages ? (failed++, Promise.reject(err)) : target.detectIn(...args))
        : Reflect.get(target, prop, receiver) as unknown),
    });
    return { engine, failed: () => failed };
  }

  /** Runs `engine` over a brute force from `sourceIp`, its passes one event each, and returns the events it skipped. */
  async function detectOneByOne(repository: Repository, send: (records: unknown[]) => Promise<{ accepted: number }>, engine: DetectionEngine, sourceIp: string): Promise<string[]> {
    const skipped: string[] = [];
    const loop = new DetectionLoop({ repository, engine, log, lingerMs: 0, retryMs: 10, passLimit: 1, onSkipped: (e) => skipped.push(e.id) });
    loop.queued((await send(bruteForce(sourceIp))).accepted);
    await expect.poll(() => repository.countQueued(), { timeout: 20_000 }).toBe(0);
    await loop.stop();
    return skipped;
  }

  it("never takes an event off the queue for failures of the store itself (a database that flaps)", async () => {
    const { repository, send } = await store();
    // Passes fail eight times as a connection lost mid-pass would (the store answers again in between, so taking an
    // event off the queue would succeed); the store says such an error is its own unavailability.
    const lost = Object.assign(new Error("Connection terminated unexpectedly"), { code: "08006" });
    const flapping = new Proxy(repository, {
      get: (target, prop, receiver) => (prop === "isUnavailableError" ? (err: unknown) => err === lost : Reflect.get(target, prop, receiver) as unknown),
    });
    const { engine, failed } = failingFirst(8, lost);
    expect(await detectOneByOne(flapping, send, engine, "203.0.113.85")).toEqual([]);
    expect(failed()).toBe(8);
    expect((await repository.listIncidents("default", { limit: 10, offset: 0 })).items).toEqual([expect.objectContaining({ sourceIp: "203.0.113.85", evidence: { counts: { "auth.failure": 7 }, total: 7 } })]);
    await repository.close();
  });

  it("never takes an event off the queue while the store's volume is full, and detects it once there is room", async () => {
    const { repository, send } = await store();
    // SQLite's own error for a full volume, thrown by eight passes in a row (a pass of one event included).
    const small = new DatabaseSync(":memory:");
    small.exec("PRAGMA max_page_count = 3; CREATE TABLE t (x BLOB)");
    let full = new Error("the database did not fill up");
    try {
      for (let i = 0; i < 100; i++) small.prepare("INSERT INTO t VALUES (randomblob(4000))").run();
    } catch (err) {
      full = err as Error;
    }
    const { engine, failed } = failingFirst(8, full);
    expect(await detectOneByOne(repository, send, engine, "203.0.113.86")).toEqual([]);
    expect(failed()).toBe(8);
    expect((await repository.listIncidents("default", { limit: 10, offset: 0 })).items).toEqual([expect.objectContaining({ sourceIp: "203.0.113.86", evidence: { counts: { "auth.failure": 7 }, total: 7 } })]);
    await repository.close();
  });

  it("finds an event whose detection always fails, takes it off the queue and detects everything around it", async () => {
    const { repository, send } = await store();
    const poisoned: DetectionRule = { ...bruteForceRule, name: "crashes-on-one-password", triggerKinds: ["auth.failure"],
      detect: ({ triggers }) => {
        if (triggers.some((t) => t.password === "poison")) throw new Error("rule crashed on this event");
        return [];
      } };
    const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", rules: [poisoned, bruteForceRule] });
    const skipped: string[] = [];
    const loop = new DetectionLoop({ repository, engine, log, lingerMs: 0, retryMs: 20, passLimit: 64, onSkipped: (e) => skipped.push(e.password ?? "") });
    const poison = cowrie.loginFailed({ srcIp: "203.0.113.80", session: "p" }, 100, "root", "poison");
    const r = await send([...bruteForce("203.0.113.81"), poison, ...bruteForce("203.0.113.82")]);
    loop.queued(r.accepted);
    await expect.poll(() => repository.countQueued(), { timeout: 20_000 }).toBe(0);
    expect(skipped).toEqual(["poison"]);
    // Both brute forces around it were detected; the poisoned event is still stored.
    const { items } = await repository.listIncidents("default", { limit: 10, offset: 0 });
    expect(items.map((i) => i.sourceIp).sort()).toEqual(["203.0.113.81", "203.0.113.82"]);
    expect(await repository.countEvents("default")).toBe(15);
    await loop.stop();
    await repository.close();
  });
});
