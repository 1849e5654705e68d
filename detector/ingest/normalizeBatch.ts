// Validates a whole batch: either every record is valid and normalized, or the batch is refused with every bad item named.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { ignoredRecord, type IngestFormat, type NormalizeContext } from "./ingestFormat.ts";
import { issuesFromZod, type ValidationIssue } from "./validationIssue.ts";

export interface NormalizedBatch {
  events: SecurityEvent[];
  ignored: number;
  issues: ValidationIssue[];
}

/** A sanity bound on event time: records stamped further ahead than this are refused as clock errors. */
export const maxFutureSkewMs = 24 * 3600_000;

export function normalizeBatch(format: IngestFormat, body: string, ctx: NormalizeContext): NormalizedBatch {
  const batch = format.records(body);
  const issues = [...batch.issues];
  const events: SecurityEvent[] = [];
  let ignored = 0;
  const failed = new Set(issues.map((i) => i.item));
  batch.records.forEach((record, item) => {
    if (failed.has(item)) return;
    const line = batch.lines?.[item];
    const parsed = format.schema.safeParse(record);
    if (!parsed.success) {
      issues.push(...issuesFromZod(item, parsed.error, line));
      return;
    }
    const event = format.normalize(parsed.data, ctx);
    if (event === ignoredRecord) {
      ignored++;
      return;
    }
    if (event.time > ctx.receivedAt + maxFutureSkewMs) {
      issues.push({ item, field: "timestamp", message: "is more than 24 hours in the future", ...(line !== undefined ? { line } : {}) });
      return;
    }
    events.push(event);
  });
  if (issues.length === 0 && events.length === 0 && ignored === 0) {
    issues.push({ item: 0, field: "(body)", message: "the batch holds no records" });
  }
  issues.sort((a, b) => a.item - b.item);
  return { events: issues.length > 0 ? [] : events, ignored, issues };
}
