// Over the corpora, with the real model: an incident's severity is its risk's, so a higher risk is never a lower severity.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attackCorpus } from "../../test/detector/corpus/attackCorpus.ts";
import { benignCorpus } from "../../test/detector/corpus/benignCorpus.ts";
import { body, type CorpusScenario } from "../../test/detector/corpus/corpusScenario.ts";
import { eve } from "../../test/detector/fixtures/suricataRecords.ts";
import { detectionConfigSchema } from "../config/detectorConfig.ts";
import { severities, severityForRisk, type Incident } from "../incidents/incident.ts";
import { ingestFormats } from "../ingest/formats.ts";
import { ingestBatch } from "../ingest/ingestBatch.ts";
import { AnomalyScorer } from "../ml/scorer.ts";
import { DEFAULT_ANOMALY_THRESHOLD } from "../ml/threshold.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { DetectionEngine } from "./detectionEngine.ts";

let scorer: AnomalyScorer;
beforeAll(async () => {
  scorer = await AnomalyScorer.load(new URL("../ml/model.onnx", import.meta.url).pathname);
});
afterAll(async () => {
  await scorer.close();
});

/** A load balancer health-checking 25 NodePorts within a minute: a port scan to the rule, an attack to the model. */
const nodePortHealthChecks: CorpusScenario = {
  name: "load balancer health checks", description: "", expect: [],
  batches: [{ format: "suricata", encoding: "ndjson", records: Array.from({ length: 25 }, (_, i) => eve.flow(i * 2, "10.0.0.250", "10.0.1.11", 30000 + i, 120, 300)) }],
};

async function incidentsOf(scenario: CorpusScenario, anomalyThreshold: number): Promise<Incident[]> {
  const repository = new SqliteRepository(":memory:");
  await repository.migrate();
  const engine = new DetectionEngine({ config: detectionConfigSchema.parse({ anomalyThreshold }), containment: "alert", anomalyModel: scorer });
  for (const batch of scenario.batches) {
    const result = await ingestBatch({ repository }, ingestFormats[batch.format]!, body(batch), "default", Date.parse("2024-05-15T00:00:00Z"));
    if (!result.ok) throw new Error(`${scenario.name}: ${JSON.stringify(result.issues)}`);
    await repository.detectQueued(100_000, (events, tx) => engine.detectIn(tx, events));
  }
  const { items } = await repository.listIncidents("default", { limit: 100, offset: 0 });
  await repository.close();
  return items;
}

describe("severity over the corpora, with the committed model", () => {
  // 0.42 as the operator renders it; 0.8 when a config file leaves the threshold out.
  it.each([DEFAULT_ANOMALY_THRESHOLD, 0.8])("is monotonic in risk at threshold %s", async (threshold) => {
    const all: { scenario: string; incident: Incident }[] = [];
    for (const scenario of [...attackCorpus, ...benignCorpus, nodePortHealthChecks]) {
      for (const incident of await incidentsOf(scenario, threshold)) all.push({ scenario: scenario.name, incident });
    }
    expect(all.length).toBeGreaterThan(attackCorpus.length);
    const rank = (i: Incident) => severities.indexOf(i.severity);
    for (const { scenario, incident: i } of all) expect(i.severity, `${scenario}: ${i.detectionKey} risk ${i.riskScore}`).toBe(severityForRisk(i.riskScore));
    for (const a of all) {
      for (const b of all) {
        if (a.incident.riskScore > b.incident.riskScore) {
          expect(rank(a.incident), `${a.scenario} (${a.incident.detectionKey}, risk ${a.incident.riskScore}, ${a.incident.severity}) vs ${b.scenario} (${b.incident.detectionKey}, risk ${b.incident.riskScore}, ${b.incident.severity})`)
            .toBeGreaterThanOrEqual(rank(b.incident));
        }
      }
    }
  });
});
