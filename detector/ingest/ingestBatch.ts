// One ingest: validate the whole batch and store it durably, queued for detection; the caller acknowledges only after this resolves.
import type { SecurityEvent } from "../events/securityEvent.ts";
import type { Repository } from "../store/repository.ts";
import type { IngestFormat } from "./ingestFormat.ts";
import { normalizeBatch } from "./normalizeBatch.ts";
import type { ValidationIssue } from "./validationIssue.ts";

export type IngestResult =
  | { ok: false; issues: ValidationIssue[]; truncated: boolean }
  | { ok: true; accepted: number; duplicates: number; ignored: number; events: SecurityEvent[] };

export async function ingestBatch(
  deps: { repository: Repository },
  format: IngestFormat,
  body: string,
  tenant: string,
  receivedAt: number,
): Promise<IngestResult> {
  const batch = normalizeBatch(format, body, { tenant, receivedAt });
  if (batch.issues.length > 0) return { ok: false, issues: batch.issues, truncated: batch.truncated };
  // Stored and queued in one transaction: a failed detection later leaves the events queued, not lost.
  const { inserted } = batch.events.length > 0 ? await deps.repository.insertEvents(batch.events) : { inserted: 0 };
  return { ok: true, accepted: inserted, duplicates: batch.events.length - inserted, ignored: batch.ignored, events: batch.events };
}
