// Event retention over a real SQLite store: what goes, what stays, batches, failures, and the schedule.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { adminPassword, api, ingestTokens, login, post, startTestDetector, writeDetectorFiles } from "../../test/detector/detectorHarness.ts";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { EventRetention } from "./eventRetention.ts";
import { SqliteRepository } from "./sqliteRepository.ts";

const day = 86_400_000;
const now = 1_800_000_000_000;
const event = (id: string, receivedDaysAgo: number): SecurityEvent => ({
  tenant: "default", id, source: "cowrie", kind: "auth.failure", sourceType: "cowrie.login.failed", time: now - day, receivedAt: now - receivedDaysAgo * day,
  sourceIp: "203.0.113.9", actor: "",
});

async function storeWith(events: SecurityEvent[], detected: boolean): Promise<SqliteRepository> {
  const repository = new SqliteRepository(":memory:");
  await repository.migrate();
  await repository.insertEvents(events);
  if (detected) while (await repository.detectQueued(1000, () => Promise.resolve())) { /* all detected */ }
  return repository;
}

/** A logger that keeps what was logged, by level. */
function recordingLog() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  return { log, lines };
}

describe("event retention", () => {
  it("deletes, in batches, the detected events received before the retention period, and says how many", async () => {
    // 7 received 40 days ago, 3 yesterday (the last one is the newest row).
    const events = [...Array.from({ length: 7 }, (_, i) => event(`old-${i}`, 40)), ...Array.from({ length: 3 }, (_, i) => event(`new-${i}`, 1))];
    const repository = await storeWith(events, true);
    const batches: number[] = [];
    const { log, lines } = recordingLog();
    const retention = new EventRetention({ repository, retentionDays: 30, log, now: () => now, batch: 3, onPruned: (n) => batches.push(n) });
    expect(await retention.runOnce()).toBe(7);
    expect(batches).toEqual([3, 3, 1]);
    expect(await repository.countEvents("default")).toBe(3);
    expect(lines.find((l) => l.msg === "pruned events past retention")).toMatchObject({ events: 7, retentionDays: 30, receivedBefore: new Date(now - 30 * day).toISOString() });
    // Nothing more to do: nothing is logged.
    expect(await retention.runOnce()).toBe(0);
    expect(lines.filter((l) => l.msg === "pruned events past retention")).toHaveLength(1);
    await repository.close();
  });

  it("keeps old events that still wait for detection", async () => {
    const repository = await storeWith([event("old-a", 40), event("old-b", 40), event("new", 0)], false);
    const retention = new EventRetention({ repository, retentionDays: 30, log: pino({ level: "silent" }), now: () => now });
    expect(await retention.runOnce()).toBe(0);
    expect(await repository.countEvents("default")).toBe(3);
    await repository.close();
  });

  it("logs a failing store and resolves, so the next run tries again", async () => {
    const repository = await storeWith([event("old", 40), event("new", 0)], true);
    await repository.close();
    const { log, lines } = recordingLog();
    const retention = new EventRetention({ repository, retentionDays: 30, log, now: () => now });
    expect(await retention.runOnce()).toBe(0);
    expect(lines.find((l) => l.level === 50)?.msg).toBe("pruning events past retention failed; retrying at the next run");
  });

  it("runs after its initial delay and then on its interval, until stopped", async () => {
    const repository = await storeWith([event("old-1", 40), event("new", 0)], true);
    const pruned: number[] = [];
    const retention = new EventRetention({ repository, retentionDays: 30, log: pino({ level: "silent" }), now: () => now, initialDelayMs: 10, intervalMs: 20, onPruned: (n) => pruned.push(n) });
    retention.start();
    await expect.poll(() => pruned, { timeout: 4_000 }).toEqual([1]);
    // A later arrival, pruned by a later run of the schedule.
    await repository.insertEvents([event("old-2", 40), event("newer", 0)]);
    while (await repository.detectQueued(1000, () => Promise.resolve())) { /* detected */ }
    await expect.poll(() => pruned, { timeout: 4_000 }).toEqual([1, 1]);
    await retention.stop();
    await repository.insertEvents([event("old-3", 40), event("newest", 0)]);
    while (await repository.detectQueued(1000, () => Promise.resolve())) { /* detected */ }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pruned).toEqual([1, 1]);
    await repository.close();
  });
});

describe("event retention in a running detector", () => {
  it("prunes what was received 40 days ago on its schedule, keeps today's, the incidents, and counts it in metrics", async () => {
    const files = await writeDetectorFiles();
    let clockOffset = -40 * day;
    const detector = await startTestDetector(files, { now: () => Date.now() + clockOffset, retention: { initialDelayMs: 20, intervalMs: 50 } });
    try {
      const bot = { srcIp: "192.0.2.77", session: "0ld5e55i0n01" };
      const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n");
      const brute = [0, 2, 4, 6, 8, 10, 12].map((t) => cowrie.loginFailed(bot, t, "root", `guess${t}`));
      expect((await post(`${detector.url}/api/v1/ingest/cowrie?wait=true`, ndjson(brute), ingestTokens.default)).status).toBe(200);
      // 40 days later (the detector's clock): one more event arrives, and the schedule runs.
      clockOffset = 0;
      expect((await post(`${detector.url}/api/v1/ingest/cowrie?wait=true`, ndjson([cowrie.connect({ srcIp: "192.0.2.78", session: "n3w5e55i0n01" }, 30)]), ingestTokens.default)).status).toBe(200);
      await expect.poll(() => detector.repository.countEvents("default"), { timeout: 10_000 }).toBe(1);
      // Counted once the prune's commit is synced to disk, which readers need not wait for: slow under load.
      await expect.poll(async () => (await fetch(detector.metricsUrl)).text(), { timeout: 10_000 }).toContain(`minixdr_events_pruned_total ${brute.length}`);
      // The incident the pruned events raised is still there, with its evidence references.
      const token = (await login(detector.url, "admin", adminPassword)).token;
      const list = await api(`${detector.url}/api/v1/incidents?sourceIp=${bot.srcIp}`, token);
      const [incident] = list.json.items as { id: string; evidence: { total: number } }[];
      expect(incident?.evidence.total).toBe(brute.length);
      const detail = await api(`${detector.url}/api/v1/incidents/${incident!.id}`, token);
      expect((detail.json.evidence as { events: unknown[] }).events).toHaveLength(brute.length);
    } finally {
      await detector.close();
      await files.remove();
    }
  });
});
