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

async function run(scenario: CorpusScenario) {
  const repository = new SqliteRepository(":memory:");
  await repository.migrate();
  const engine = new DetectionEngine({ repository, config: detectionConfigSchema.parse({}), containment: "alert", anomalyModel: scorer });
  for (const [i, batch] of scenario.batches.entries()) {
    const result = await ingestBatch({ repository, engine }, ingestFormats[batch.format]!, body(batch), "default", Date.parse("2024-05-15T00:00:00Z"));
    if (!result.ok) throw new Error(`${scenario.name}: batch ${i} refused: ${JSON.stringify(result.issues)}`);
  }
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

describe("benign corpus", () => {
  it.each(benignCorpus.map((s) => [s.name, s] as const))("%s raises no incident", async (_name, scenario) => {
    expect(await run(scenario)).toEqual([]);
  });
});
