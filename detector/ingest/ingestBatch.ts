// One ingest: validate the whole batch, store it durably, then detect; the caller acknowledges only after this resolves.
import type { DetectionEngine } from "../detection/detectionEngine.ts";
import type { Repository } from "../store/repository.ts";
import type { IngestFormat } from "./ingestFormat.ts";
import { normalizeBatch } from "./normalizeBatch.ts";
import type { ValidationIssue } from "./validationIssue.ts";

export type IngestResult =
  | { ok: false; issues: ValidationIssue[] }
  | { ok: true; accepted: number; duplicates: number; ignored: number; incidents: { id: string; technique: string; created: boolean }[] };

export async function ingestBatch(
  deps: { repository: Repository; engine: DetectionEngine },
  format: IngestFormat,
  body: string,
  tenant: string,
  receivedAt: number,
): Promise<IngestResult> {
  const batch = normalizeBatch(format, body, { tenant, receivedAt });
  if (batch.issues.length > 0) return { ok: false, issues: batch.issues };
  const { inserted } = batch.events.length > 0 ? await deps.repository.insertEvents(batch.events) : { inserted: 0 };
  // Detection runs over the whole batch, duplicates included, so a retry after a failed detection still detects.
  const outcomes = await deps.engine.detect(batch.events);
  return {
    ok: true,
    accepted: inserted,
    duplicates: batch.events.length - inserted,
    ignored: batch.ignored,
    incidents: outcomes.map((o) => ({ id: o.incident.id, technique: o.incident.detectionKey, created: o.created })),
  };
}
