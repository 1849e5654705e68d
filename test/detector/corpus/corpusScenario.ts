// A corpus scenario: batches posted in order (possibly out of event-time order) and the incidents they must raise.

export type CorpusFormat = "cowrie" | "suricata" | "k8s-audit" | "events";

export interface CorpusBatch {
  format: CorpusFormat;
  /** How the body is sent: a JSON array, NDJSON lines, or (audit) an EventList. */
  encoding: "array" | "ndjson" | "eventlist";
  records: unknown[];
}

export interface ExpectedIncident {
  technique: string;
  sourceIp: string;
  actor?: string;
  /** At least this many evidence events. */
  minEvidence: number;
  /** The incident's risk score, when the scenario is about it (allowed or refused, admitted or not). */
  risk?: number;
}

export interface CorpusScenario {
  name: string;
  description: string;
  batches: CorpusBatch[];
  /** Exactly these incidents (by technique, source and actor) and no others. */
  expect: ExpectedIncident[];
}

export function body(batch: CorpusBatch): string {
  if (batch.encoding === "ndjson") return batch.records.map((r) => JSON.stringify(r)).join("\n") + "\n";
  if (batch.encoding === "eventlist") {
    // As kube-apiserver's webhook sends them: list items without their own apiVersion and kind.
    const items = batch.records.map((r) => Object.fromEntries(Object.entries(r as Record<string, unknown>).filter(([k]) => k !== "kind" && k !== "apiVersion")));
    return JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {}, items });
  }
  return JSON.stringify(batch.records);
}
