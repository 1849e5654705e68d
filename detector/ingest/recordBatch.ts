// Splits a request body into records: one JSON value, a JSON array, or NDJSON (one JSON value per line).
import { maxIssues, type ValidationIssue } from "./validationIssue.ts";

export interface RecordBatch {
  records: unknown[];
  /** 1-based NDJSON line of each record, when the body was NDJSON. */
  lines?: number[];
  issues: ValidationIssue[];
  /** Reading stopped at `maxIssues` bad lines: the rest of the body was not looked at. */
  truncated?: boolean;
}

export function parseRecordBatch(body: string): RecordBatch {
  const text = body.trim();
  if (text === "") return { records: [], issues: [{ item: 0, field: "(body)", message: "the body is empty" }] };
  try {
    const whole: unknown = JSON.parse(text);
    return { records: Array.isArray(whole) ? whole : [whole], issues: [] };
  } catch {
    // Not a single JSON value: read it as NDJSON, reporting each line that does not parse.
  }
  const records: unknown[] = [];
  const lines: number[] = [];
  const issues: ValidationIssue[] = [];
  // Line numbers count from the body as sent, blank lines before the first record included.
  let lineNumber = 0;
  for (let start = 0; start <= body.length; ) {
    let end = body.indexOf("\n", start);
    if (end === -1) end = body.length;
    lineNumber++;
    const line = body.slice(start, end).trim();
    start = end + 1;
    if (line === "") continue;
    try {
      records.push(JSON.parse(line));
    } catch (err) {
      records.push(undefined);
      issues.push({ item: records.length - 1, line: lineNumber, field: "(item)", message: `not valid JSON: ${(err as Error).message}` });
    }
    lines.push(lineNumber);
    if (issues.length >= maxIssues) return { records, lines, issues, truncated: true };
  }
  return { records, lines, issues };
}
