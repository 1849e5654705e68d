// Batch validation errors, each naming the item (0-based position in the batch) and the field it is about.
import type { z } from "zod";

export interface ValidationIssue {
  item: number;
  /** Dotted path inside the item, or "(item)" when the item as a whole is wrong. */
  field: string;
  message: string;
  /** 1-based line of an NDJSON body, when the body was NDJSON. */
  line?: number;
}

/**
 * The most issues one answer lists. A body of junk lines would otherwise build one issue per line: millions of them,
 * gigabytes, and an answer too large to send. Validation stops there; the batch is refused all the same.
 */
export const maxIssues = 100;

export function issuesFromZod(item: number, error: z.ZodError, line?: number): ValidationIssue[] {
  const at = line !== undefined ? { line } : {};
  return error.issues.flatMap((i) => {
    const path = i.path.map(String);
    // An unknown field is named in `field`, one issue each, like every other bad field.
    if (i.code === "unrecognized_keys") return i.keys.map((key) => ({ item, field: [...path, key].join("."), message: "is not a field of this format", ...at }));
    return [{ item, field: path.length > 0 ? path.join(".") : "(item)", message: i.message, ...at }];
  });
}

/** One line per issue, for logs and error messages. */
export function describeIssues(issues: ValidationIssue[]): string {
  return issues.map((i) => `item ${i.item}${i.line !== undefined ? ` (line ${i.line})` : ""} ${i.field}: ${i.message}`).join("; ");
}
