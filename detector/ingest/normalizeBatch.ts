// Validates a whole batch: either every record is valid and normalized, or the batch is refused with every bad item named.
import { hash } from "node:crypto";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { ignoredRecord, type IngestFormat, type NormalizeContext } from "./ingestFormat.ts";
import { issuesFromZod, maxIssues, type ValidationIssue } from "./validationIssue.ts";

export interface NormalizedBatch {
  events: SecurityEvent[];
  ignored: number;
  issues: ValidationIssue[];
  /** Validation stopped at `maxIssues`: the batch is refused, and its remaining records were not checked. */
  truncated: boolean;
}

/** A sanity bound on event time: records stamped further ahead than this are refused as clock errors. */
export const maxFutureSkewMs = 24 * 3600_000;

/**
 * The longest text kept of one field of an event (UTF-16 code units; the generic schema's bound on a command). Much of
 * what sources report is chosen by the attacker (a command or login name typed into the honeypot, a URL or User-Agent
 * sent to the API server, which audits even refused requests), each as long as a body allows. Events are kept whole in
 * memory for detection (the SQLite cache holds a number of events sized for ordinary ones), so a few dozen commands of
 * megabytes filled the heap, and a detector that restarted read them back for detection. A longer text is cut here, not
 * refused: refusing would let an attacker have the whole batch, their other records included, refused.
 */
export const maxEventTextLength = 10_000;

/** A text cut to `maxEventTextLength`, ending in its length and a digest, so texts that differ stay different (rules count distinct login names and passwords, and tell requests apart by URL). */
function boundedText(s: string): string {
  if (s.length <= maxEventTextLength) return s;
  let end = maxEventTextLength;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}… (${s.length} characters, sha256 ${hash("sha256", s, "hex").slice(0, 32)})`;
}

/** Every text of an event bounded (`boundedText`), in place; its id is its own (and bounded by each format). */
function boundEventText(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return boundedText(value);
  if (depth > 8 || value === null || typeof value !== "object") return value;
  // Written back only when cut: ingest runs this over every event.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bounded = boundEventText(value[i], depth + 1);
      if (bounded !== value[i]) value[i] = bounded;
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (depth === 0 && key === "id") continue;
    const bounded = boundEventText(record[key], depth + 1);
    if (bounded !== record[key]) record[key] = bounded;
  }
  return record;
}

/** Why a string cannot be stored as it is: an unpaired surrogate (from a \ud800 escape), or a NUL (from \u0000). */
function unstorable(s: string): string | undefined {
  // Stored as UTF-8, an unpaired surrogate becomes U+FFFD, and two different ids the same one.
  if (!s.isWellFormed()) return "holds an unpaired UTF-16 surrogate (an escape such as \\ud800 alone): not valid Unicode";
  // PostgreSQL's text cannot hold one (the batch failed with a 500 there, and a retry could never succeed).
  if (s.includes("\u0000")) return "holds a NUL character (\\u0000), which cannot be stored";
  return undefined;
}

/** Where a record holds a string (or key) that cannot be stored as it is, and why, if it does. */
function unstorablePath(record: unknown): { path: string; why: string } | undefined {
  const stack: [unknown, string][] = [[record, ""]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === "string") {
      const why = unstorable(value);
      if (why) return { path: path || "(item)", why };
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push([v, `${path}[${i}]`]));
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        const why = unstorable(k);
        if (why) return { path: path || "(item)", why: `has a field name that ${why}` };
        stack.push([v, path ? `${path}.${k}` : k]);
      }
    }
  }
  return undefined;
}

export function normalizeBatch(format: IngestFormat, body: string, ctx: NormalizeContext): NormalizedBatch {
  const batch = format.records(body);
  // Only an escape (\ud800, \u0000) makes an unpaired surrogate or a NUL (the body itself is UTF-8, and JSON has no raw
  // control characters in strings): look for them only then.
  const mayHoldUnstorable = /\\u(?:[dD][89a-fA-F]|0000)/.test(body);
  const issues = [...batch.issues];
  const events: SecurityEvent[] = [];
  let ignored = 0;
  const failed = new Set(issues.map((i) => i.item));
  let truncated = batch.truncated === true;
  /** The first item of each event id in the batch, and what it normalized to. */
  const firstOf = new Map<string, { item: number; event: SecurityEvent }>();
  for (let item = 0; item < batch.records.length && !truncated; item++) {
    if (issues.length >= maxIssues) {
      truncated = true;
      break;
    }
    const record = batch.records[item];
    if (failed.has(item)) continue;
    const line = batch.lines?.[item];
    const at = line !== undefined ? { line } : {};
    const bad = mayHoldUnstorable ? unstorablePath(record) : undefined;
    if (bad !== undefined) {
      issues.push({ item, field: bad.path, message: bad.why, ...at });
      continue;
    }
    const parsed = format.schema.safeParse(record);
    if (!parsed.success) {
      issues.push(...issuesFromZod(item, parsed.error, line));
      continue;
    }
    let event: ReturnType<IngestFormat["normalize"]>;
    try {
      event = format.normalize(parsed.data, ctx);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      // JSON.parse reads any depth; digesting the record recurses, and a record nested thousands deep overflows it.
      issues.push({ item, field: "(item)", message: "is nested too deeply to be read", ...at });
      continue;
    }
    if (event === ignoredRecord) {
      ignored++;
      continue;
    }
    // No text of a body this short can be over the bound.
    if (body.length > maxEventTextLength) boundEventText(event);
    if (event.time > ctx.receivedAt + maxFutureSkewMs) {
      issues.push({ item, field: "timestamp", message: "is more than 24 hours in the future", ...at });
      continue;
    }
    if (event.time < 0) {
      issues.push({ item, field: "timestamp", message: "is before 1970", ...at });
      continue;
    }
    // One id, two different records: the store would keep the first and count the second as a duplicate, silently
    // losing it. A record sent twice in a batch is the same record, and stays a duplicate.
    const earlier = firstOf.get(event.id);
    if (earlier !== undefined && JSON.stringify(earlier.event) !== JSON.stringify(event)) {
      issues.push({ item, field: "(item)", message: `has the id ${event.id} of item ${earlier.item}, with different content`, ...at });
      continue;
    }
    if (earlier === undefined) firstOf.set(event.id, { item, event });
    events.push(event);
  }
  if (issues.length === 0 && events.length === 0 && ignored === 0) {
    issues.push({ item: 0, field: "(body)", message: "the batch holds no records" });
  }
  issues.sort((a, b) => a.item - b.item);
  return { events: issues.length > 0 ? [] : events, ignored, issues: issues.slice(0, maxIssues), truncated: truncated || issues.length > maxIssues };
}
