// How incidents look on the wire: event times as ISO-8601.
import type { Incident, IncidentWithEvents } from "../incidents/incident.ts";

const iso = (ms: number) => new Date(ms).toISOString();

export function incidentView(i: Incident | IncidentWithEvents) {
  return {
    id: i.id,
    tenant: i.tenant,
    sourceIp: i.sourceIp,
    actor: i.actor || null,
    techniques: i.techniques,
    severity: i.severity,
    riskScore: i.riskScore,
    status: i.status,
    firstSeen: iso(i.firstSeen),
    lastSeen: iso(i.lastSeen),
    summary: i.summary,
    evidence: {
      ...i.evidence,
      ...("events" in i ? { events: i.events.map((e) => ({ ...e, time: iso(e.time) })) } : {}),
    },
    detectedBy: i.detectedBy,
    recommendedAction: i.recommendedAction,
    createdAt: iso(i.createdAt),
    updatedAt: iso(i.updatedAt),
    statusChangedBy: i.statusChangedBy,
  };
}
