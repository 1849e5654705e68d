// The scripted attack corpus raises exactly the incidents each scenario names; the benign corpus raises none.
import { describe, expect, it, beforeAll } from "vitest";
import { attackCorpus } from "../../test/detector/corpus/attackCorpus.ts";
import { benignCorpus } from "../../test/detector/corpus/benignCorpus.ts";
import { body, type CorpusScenario } from "../../test/detector/corpus/corpusScenario.ts";
import { detectionConfigSchema } from "../config/detectorConfig.ts";
import { DetectionEngine } from "../detection/detectionEngine.ts";
import { ingestFormats } from "../ingest/formats.ts";
import { ingestBatch } from "../ingest/ingestBatch.ts";
import { AnomalyScorer } from "../ml/scorer.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";

let scorer: AnomalyScorer;
beforeAll(async () => {
  scorer = await AnomalyScorer.load(new URL("../ml/model.onnx", import.meta.url).pathname);
});

/**
 * Ingests the scenario's batches and detects them as the detector's background passes do: by default one pass per
 * batch (a quiet detector), or with `onePass` a single pass over everything (a busy one gathering batches).
 */
async function run(scenario: CorpusScenario, opts: { onePass?: boolean } = {}) {
  const repository = new SqliteRepository(":memory:");
  await repository.migrate();
  const engine = new DetectionEngine({ config: detectionConfigSchema.parse({}), containment: "alert", anomalyModel: scorer });
  const pass = () => repository.detectQueued(100_000, (events, tx) => engine.detectIn(tx, events));
  for (const [i, batch] of scenario.batches.entries()) {
    const result = await ingestBatch({ repository }, ingestFormats[batch.format]!, body(batch), "default", Date.parse("2024-05-15T00:00:00Z"));
    if (!result.ok) throw new Error(`${scenario.name}: batch ${i} refused: ${JSON.stringify(result.issues)}`);
    if (!opts.onePass) await pass();
  }
  if (opts.onePass) await pass();
  expect(await repository.countQueued()).toBe(0);
  const { items } = await repository.listIncidents("default", { limit: 100, offset: 0 });
  await repository.close();
  return items;
}

describe("attack corpus", () => {
  it.each(attackCorpus.map((s) => [s.name, s] as const))("%s", async (_name, scenario) => {
    const incidents = await run(scenario);
    const raised = incidents.map((i) => ({ technique: i.detectionKey, sourceIp: i.sourceIp, actor: i.actor })).sort((a, b) => a.technique.localeCompare(b.technique));
    const expected = scenario.expect.map((e) => ({ technique: e.technique, sourceIp: e.sourceIp, actor: e.actor ?? "" })).sort((a, b) => a.technique.localeCompare(b.technique));
    expect(raised).toEqual(expected);
    for (const e of scenario.expect) {
      const incident = incidents.find((i) => i.detectionKey === e.technique)!;
      expect(incident.evidence.total).toBeGreaterThanOrEqual(e.minEvidence);
      expect(incident.techniques[0]).toMatchObject({ id: e.technique, name: expect.any(String) as string, tactic: expect.any(String) as string });
      expect(incident.status).toBe("open");
      expect(incident.detectedBy.model?.version).toBe(scorer.version);
    }
  });
});

describe("pass size", () => {
  // Under load a pass gathers many batches: the outcome must not depend on how arrivals were grouped.
  it.each(attackCorpus.map((s) => [s.name, s] as const))("%s: one pass over every batch raises the same incidents as a pass per batch", async (_name, scenario) => {
    const summary = (incidents: Awaited<ReturnType<typeof run>>) => incidents
      .map((i) => ({ technique: i.detectionKey, sourceIp: i.sourceIp, actor: i.actor, firstSeen: i.firstSeen, lastSeen: i.lastSeen, evidence: i.evidence }))
      .sort((a, b) => a.technique.localeCompare(b.technique) || a.sourceIp.localeCompare(b.sourceIp));
    expect(summary(await run(scenario, { onePass: true }))).toEqual(summary(await run(scenario)));
  });
});

describe("benign corpus", () => {
  it.each(benignCorpus.map((s) => [s.name, s] as const))("%s raises no incident", async (_name, scenario) => {
    expect(await run(scenario)).toEqual([]);
  });
});
