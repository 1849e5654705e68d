// Row <-> domain mapping shared by both backends (same column names; PostgreSQL returns BIGINT as text and JSONB parsed).
import type { EventRef, SecurityEvent } from "../events/securityEvent.ts";
import { boundedSummary, type Incident } from "../incidents/incident.ts";
import type { Role, UserRecord } from "../auth/user.ts";

export type Row = Record<string, unknown>;

const json = <T>(v: unknown): T => (typeof v === "string" ? (JSON.parse(v) as T) : (v as T));
const num = (v: unknown): number => Number(v);

export function incidentFromRow(r: Row): Incident {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    sourceIp: String(r.source_ip),
    actor: String(r.actor),
    detectionKey: String(r.detection_key),
    techniques: json(r.techniques),
    severity: r.severity as Incident["severity"],
    riskScore: num(r.risk_score),
    status: r.status as Incident["status"],
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    // Bounded when written; also when read, for incidents stored before the bound.
    summary: boundedSummary(String(r.summary)),
    evidence: json(r.evidence),
    detectedBy: json(r.detected_by),
    recommendedAction: r.recommended_action === null || r.recommended_action === undefined ? null : json(r.recommended_action),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    statusChangedBy: typeof r.status_changed_by === "string" ? r.status_changed_by : null,
  };
}

/** Column values of an incident, in `incidentColumns` order. */
export function incidentValues(i: Incident): (string | number | null)[] {
  return [
    i.id, i.tenant, i.sourceIp, i.actor, i.detectionKey, JSON.stringify(i.techniques), i.severity, i.riskScore, i.status,
    i.firstSeen, i.lastSeen, boundedSummary(i.summary), JSON.stringify(i.evidence), JSON.stringify(i.detectedBy),
    i.recommendedAction ? JSON.stringify(i.recommendedAction) : null, i.createdAt, i.updatedAt, i.statusChangedBy,
  ];
}

export const incidentColumns = [
  "id", "tenant", "source_ip", "actor", "detection_key", "techniques", "severity", "risk_score", "status",
  "first_seen", "last_seen", "summary", "evidence", "detected_by", "recommended_action", "created_at", "updated_at", "status_changed_by",
] as const;

/**
 * What a detection pass writes when it updates an incident: not its status and who set it. Those belong to the analysts
 * (`setIncidentStatus`), and a pass holds the incident it read for a while: written back, a status changed meanwhile
 * (a PATCH answered 200) was undone, and a resolved incident reopened with its resolver's name erased.
 */
export const detectionUpdateColumns = incidentColumns.filter((c) => c !== "id" && c !== "status" && c !== "status_changed_by");

/** The values of `detectionUpdateColumns`, in order. */
export function detectionUpdateValues(i: Incident): (string | number | null)[] {
  const values = incidentValues(i);
  return detectionUpdateColumns.map((c) => values[incidentColumns.indexOf(c)]!);
}

export function eventValues(e: SecurityEvent): (string | number)[] {
  return [e.tenant, e.id, e.source, e.kind, e.time, e.receivedAt, e.sourceIp, e.actor, JSON.stringify(e)];
}

export const eventColumns = ["tenant", "id", "source", "kind", "event_time", "received_at", "source_ip", "actor", "body"] as const;

export function eventFromRow(r: Row): SecurityEvent {
  return json<SecurityEvent>(r.body);
}

export function eventRefFromRow(r: Row): EventRef {
  return { id: String(r.event_id), kind: r.kind as EventRef["kind"], time: num(r.event_time), source: r.source as EventRef["source"] };
}

export function userFromRow(r: Row): UserRecord {
  return {
    tenant: String(r.tenant),
    username: String(r.username),
    passwordHash: String(r.password_hash),
    role: r.role as Role,
    failedLogins: num(r.failed_logins),
    lockedUntil: num(r.locked_until),
    createdAt: num(r.created_at),
    credentialsVersion: num(r.credentials_version ?? 0),
  };
}

export function evidenceFromCounts(rows: Row[]): { counts: Record<string, number>; total: number } {
  const counts: Record<string, number> = {};
  let total = 0;
  for (const r of rows) {
    counts[String(r.kind)] = num(r.n);
    total += num(r.n);
  }
  return { counts, total };
}
