// Incidents: what the API serves and the store keeps, one per tenant, source, actor and technique within a window.
import type { EventRef } from "../events/securityEvent.ts";
import type { Technique } from "../rules/attackTechniques.ts";

export const incidentStatuses = ["open", "acknowledged", "contained", "resolved"] as const;
export type IncidentStatus = (typeof incidentStatuses)[number];

export const severities = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof severities)[number];

export interface EvidenceSummary {
  /** Linked events by normalized kind. */
  counts: Record<string, number>;
  total: number;
}

export interface DetectedBy {
  rules: string[];
  /** The anomaly model that scored the source, when one did. */
  model?: { version: string; score: number };
}

export interface RecommendedAction {
  type: "block";
  sourceIp: string;
}

export interface Incident {
  id: string;
  tenant: string;
  sourceIp: string;
  /** The identity that acted (Kubernetes user); empty for network sources. */
  actor: string;
  /** What deduplicates incidents: the technique id, or "anomaly" for model-only incidents. */
  detectionKey: string;
  techniques: Technique[];
  severity: Severity;
  riskScore: number;
  status: IncidentStatus;
  /** Event time (ms) of the first and last event in the evidence. */
  firstSeen: number;
  lastSeen: number;
  summary: string;
  evidence: EvidenceSummary;
  detectedBy: DetectedBy;
  recommendedAction: RecommendedAction | null;
  createdAt: number;
  updatedAt: number;
  statusChangedBy: string | null;
}

export interface IncidentWithEvents extends Incident {
  /** References to the evidence events, oldest first (at most `evidenceEventLimit`). */
  events: EventRef[];
}

export const evidenceEventLimit = 200;

/** Severity follows the risk score, so the model's adjustment can move it. */
export function severityForRisk(risk: number): Severity {
  if (risk >= 85) return "critical";
  if (risk >= 60) return "high";
  if (risk >= 30) return "medium";
  return "low";
}

export function clampRisk(risk: number): number {
  return Math.max(0, Math.min(100, Math.round(risk)));
}

/**
 * The longest summary kept (UTF-16 code units). Rules write attacker-chosen text into summaries (a login name or a
 * command typed into a honeypot, a URL, a Kubernetes object name), each as long as one ingest body allows: unbounded,
 * a page of incidents took hundreds of megabytes to read and serve. The evidence keeps the events themselves.
 */
export const maxSummaryLength = 2000;

/** A summary cut to `maxSummaryLength`, ending in "…" when cut (never inside a surrogate pair). */
export function boundedSummary(summary: string): string {
  if (summary.length <= maxSummaryLength) return summary;
  let end = maxSummaryLength - 1;
  const last = summary.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${summary.slice(0, end)}…`;
}
