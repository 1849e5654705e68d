// What each ingest format provides: how to split a body into records and how to normalize one record.
import type { z } from "zod";
import type { EventSource, SecurityEvent } from "../events/securityEvent.ts";
import type { RecordBatch } from "./recordBatch.ts";

export interface NormalizeContext {
  tenant: string;
  receivedAt: number;
}

/** A record the format accepts but does not keep (e.g. Suricata stats), so it neither fails the batch nor is stored. */
export const ignoredRecord = Symbol("ignored record");

export interface IngestFormat {
  source: EventSource;
  /** Splits the body text into records; formats with an envelope (an audit EventList) unwrap it here. */
  records(body: string): RecordBatch;
  /** Validates one record: a zod error names the bad fields. */
  schema: z.ZodType;
  /** Turns a validated record into an event. */
  normalize(record: unknown, ctx: NormalizeContext): SecurityEvent | typeof ignoredRecord;
}
