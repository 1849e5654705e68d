// Field validators and helpers shared by the ingest formats.
import { hash } from "node:crypto";
import { isIP } from "node:net";
import { z } from "zod";

const isoTimestamp = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

// The last timestamp parsed and its time: a record's timestamp is parsed by its validation and then by its
// normalization (which may read it twice), one right after the other.
let lastValue: string | undefined;
let lastMs: number | undefined;

/** Whether the date part (YYYY-MM-DD) names a day that exists: Date.parse moves 2026-02-30 to March 2nd. */
function isCalendarDate(value: string): boolean {
  const [year, month, day] = [Number(value.slice(0, 4)), Number(value.slice(5, 7)), Number(value.slice(8, 10))];
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: that one maps years 0-99 to 1900-1999.
  d.setUTCFullYear(year, month - 1, day);
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** Event time from a source timestamp (ISO-8601 with a zone, as Cowrie, Suricata and Kubernetes write it), or undefined. */
export function parseSourceTimestamp(value: string): number | undefined {
  if (value === lastValue) return lastMs;
  const m = isoTimestamp.exec(value);
  let ms: number | undefined;
  if (m && isCalendarDate(value)) {
    const zone = m[2] ?? "Z";
    const parsed = Date.parse(value.replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, zone === "Z" ? "$1$2" : "$1:$2"));
    ms = Number.isNaN(parsed) ? undefined : parsed;
  }
  lastValue = value;
  lastMs = ms;
  return ms;
}

export const timestampField = z
  .string()
  .refine((s) => parseSourceTimestamp(s) !== undefined, "must be an ISO-8601 timestamp with a time zone, e.g. 2024-05-14T10:15:32.123Z");

/**
 * One spelling per address, so one attacker is one source whatever a sensor prints: IPv6 in RFC 5952 form (lowercase,
 * no leading zeros, the longest run of zero groups as ::), and an IPv4-mapped IPv6 address as the IPv4 address it is.
 * Only call on addresses `isIP` accepts.
 */
export function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  // The URL parser serializes IPv6 hosts in RFC 5952 form.
  const v6 = new URL(`http://[${ip}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

// No IPv6 zone (fe80::1%eth0): it names an interface of the sender's host, and would end up in block actions.
export const ipField = z.string()
  .refine((s) => isIP(s) !== 0 && !s.includes("%"), "must be an IPv4 or IPv6 address (without a zone)")
  .transform(canonicalIp);

export const portField = z.number().int().min(0).max(65535);

export const byteCountField = z.number().int().nonnegative();

/**
 * A stable id for a record that has none of its own: the same record sent twice gets the same id. It leads with the
 * event time (fixed-width hex ms), so ids sort by time and the store's unique (tenant, id) index grows at one end
 * instead of taking each insert at a random page (which, past the page cache, rewrote a page per event).
 */
export function digestId(source: string, record: unknown, time: number): string {
  return `${source}:${Math.max(0, time).toString(16).padStart(12, "0")}-${hash("sha256", JSON.stringify(record), "hex").slice(0, 32)}`;
}

/** Event time as parsed by `timestampField`; only call on validated values. */
export function eventTime(value: string): number {
  const ms = parseSourceTimestamp(value);
  if (ms === undefined) throw new Error(`timestamp ${value}: not validated`);
  return ms;
}

/** A type-specific field's issue: "is required for <what>" when it is missing, else zod's message. */
export function requiredMessage(issue: z.core.$ZodIssue, what: string): string {
  return issue.code === "invalid_type" && issue.input === undefined ? `is required for ${what}` : issue.message;
}

/** A destination a sensor names as an address, canonical; undefined when it is a host name or anything else. */
export function addressOrUndefined(value: string | undefined): string | undefined {
  return value !== undefined && isIP(value) !== 0 && !value.includes("%") ? canonicalIp(value) : undefined;
}
