// Detection passes alone, deterministic: the same event stream (the benchmark's generic or Cowrie batches, 500
// sources, event time advancing at a fixed rate) stored in a SQLite file and detected in passes of a fixed size, the
// anomaly model on; prints the CPU time of the passes per 1000 events (ingest not counted), per group of passes as the
// windows fill, and a digest of what was detected (every incident's key, risk, severity, summary, span and evidence
// counts), so two versions of the engine can be compared on both: the digests must be equal.
//
//   node --max-old-space-size=384 --max-semi-space-size=16 bench/detector/passes.ts [--passes 40] [--pass-events 20000] [--rate 20000] [--groups 4] [--format generic|cowrie] [--no-model]
//
// --rate: events per second of event time (20,000: the windows of 60 s hold 1.2M events from the 60th second on, the
// spraying rule's and the model's 300 s fill from the 300th: use --passes 40 --pass-events 20000 --rate 2000 to reach
// them at this size).
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectionConfigSchema } from "../../detector/config/detectorConfig.ts";
import { DetectionEngine } from "../../detector/detection/detectionEngine.ts";
import { ingestFormats } from "../../detector/ingest/formats.ts";
import { ingestBatch } from "../../detector/ingest/ingestBatch.ts";
import { AnomalyScorer } from "../../detector/ml/scorer.ts";
import { SqliteRepository } from "../../detector/store/sqliteRepository.ts";
import { root } from "../support/cluster.ts";
import { body, ingestPath, type EventFormat } from "./events.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} takes a positive number`);
  return v;
}

const passes = arg("passes", 40);
const passEvents = arg("pass-events", 20_000);
const rate = arg("rate", 20_000);
const groups = arg("groups", 4);
const format: EventFormat = process.argv.includes("cowrie") ? "cowrie" : "generic";
const model = !process.argv.includes("--no-model");
const batch = 1000;
const t0 = Date.parse("2024-05-15T00:00:00Z");

const dir = mkdtempSync(join(tmpdir(), "minixdr-bench-passes-"));
const repository = new SqliteRepository(join(dir, "minixdr.db"));
await repository.migrate();
const engine = new DetectionEngine({
  config: detectionConfigSchema.parse({}), containment: "alert", now: () => t0,
  ...(model ? { anomalyModel: await AnomalyScorer.load(join(root, "detector/ml/model.onnx")) } : {}),
});
const ingestFormat = ingestFormats[ingestPath[format]]!;

const cpuMs: number[] = [];
let stored = 0;
try {
  for (let p = 0; p < passes; p++) {
    for (let b = 0; b < passEvents / batch; b++) {
      const time = t0 + Math.floor((stored * 1000) / rate);
      const r = await ingestBatch({ repository }, ingestFormat, body(format, batch, time), "default", time);
      if (!r.ok) throw new Error(`batch refused: ${JSON.stringify(r.issues)}`);
      stored += batch;
    }
    const before = process.cpuUsage();
    const pass = await repository.detectQueued(passEvents, (events, tx) => engine.detectIn(tx, events));
    const used = process.cpuUsage(before);
    if (pass?.events !== passEvents) throw new Error(`a pass took ${pass?.events} events, not ${passEvents}`);
    cpuMs.push((used.user + used.system) / 1000);
  }
  const perGroup = Math.ceil(passes / groups);
  const rows: string[] = [];
  for (let g = 0; g < passes; g += perGroup) {
    const ms = cpuMs.slice(g, g + perGroup);
    rows.push(`passes ${g + 1}-${g + ms.length}: ${((ms.reduce((a, b) => a + b, 0) / (ms.length * passEvents)) * 1000).toFixed(1)}`);
  }
  const { items, total } = await repository.listIncidents("default", { limit: 100_000, offset: 0 });
  const digest = createHash("sha256");
  for (const i of items.map((x) => JSON.stringify([x.sourceIp, x.actor, x.detectionKey, x.riskScore, x.severity, x.summary, x.firstSeen, x.lastSeen, x.status, x.evidence, x.detectedBy])).sort()) digest.update(i);
  const links = items.reduce((n, i) => n + i.evidence.total, 0);
  console.error(`${format}, ${passes} passes of ${passEvents}, ${rate} events/s of event time, model ${model ? "on" : "off"}: CPU ms per 1000 events detected, ${rows.join("; ")}`);
  console.log(JSON.stringify({ cpuMsPer1000: rows, total: cpuMs.reduce((a, b) => a + b, 0), groups: Array.from({ length: Math.ceil(passes / perGroup) }, (_, g) => cpuMs.slice(g * perGroup, (g + 1) * perGroup).reduce((a, b) => a + b, 0) / (cpuMs.slice(g * perGroup, (g + 1) * perGroup).length * passEvents) * 1000), incidents: total, links, digest: digest.digest("hex").slice(0, 16) }));
} finally {
  await repository.close();
  rmSync(dir, { recursive: true, force: true });
}
