// The incident list's paging cursor: where the next page starts, opaque to clients. It holds the sort key and id of
// the last incident a page returned, the order it was in, and a digest of the tenant and filters it belongs to, as
// base64url JSON. A cursor is only valid for the listing that issued it (same tenant, filters and order): the position
// means nothing in another one. It is not secret (the key and id are the listed incident's), and a forged one can only
// start a page of the caller's own tenant somewhere.
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Incident } from "../incidents/incident.ts";
import { incidentSorts, type IncidentPosition, type IncidentQuery, type IncidentSort } from "../store/repository.ts";

/** The filters a cursor is bound to (what selects the incidents, not how many per page). */
export type ListingFilters = Pick<IncidentQuery, "status" | "severity" | "technique" | "sourceIp" | "since">;

/** Longer than any cursor issued (about 150 characters); a longer one is refused before it is decoded. */
export const maxCursorLength = 512;

const version = 1;

const cursorBody = z.strictObject({
  v: z.literal(version),
  sort: z.enum(incidentSorts),
  listing: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  // Event times (ms) may precede 1970.
  key: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  // The store's form of an id: a lowercase UUID (PostgreSQL compares it as a UUID, SQLite as text).
  id: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
});

/** A digest of the tenant, order and filters: a cursor names the listing it belongs to. */
function listingDigest(tenant: string, sort: IncidentSort, f: ListingFilters): string {
  const canonical = JSON.stringify([tenant, sort, f.status ?? null, f.severity ?? null, f.technique ?? null, f.sourceIp ?? null, f.since ?? null]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 22);
}

/** The sort key of an incident in an order. */
export function sortKey(incident: Incident, sort: IncidentSort): number {
  return sort === "createdAt" ? incident.createdAt : incident.lastSeen;
}

/** The cursor of the page after `last` (the last incident of a page) in this listing. */
export function encodeCursor(tenant: string, sort: IncidentSort, filters: ListingFilters, last: Incident): string {
  const body: z.infer<typeof cursorBody> = { v: version, sort, listing: listingDigest(tenant, sort, filters), key: sortKey(last, sort), id: last.id };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

/**
 * The position a cursor names, or why it names none for this listing: not a cursor this API issued (malformed,
 * truncated, edited), or one of another listing (other filters, order or tenant).
 */
export function decodeCursor(cursor: string, tenant: string, sort: IncidentSort, filters: ListingFilters): IncidentPosition | { invalid: string } {
  const malformed = { invalid: "is not a cursor this API issued: pass the `next` of the previous page unchanged" };
  if (cursor.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(cursor)) return malformed;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return malformed;
  }
  const parsed = cursorBody.safeParse(json);
  if (!parsed.success) return malformed;
  if (parsed.data.sort !== sort) return { invalid: `belongs to a listing sorted by ${parsed.data.sort}, not ${sort}: page on with the sort the cursor was issued for, or start again without a cursor` };
  if (parsed.data.listing !== listingDigest(tenant, sort, filters)) {
    return { invalid: "belongs to another listing (other filters): page on with the filters the cursor was issued for, or start again without a cursor" };
  }
  return { key: parsed.data.key, id: parsed.data.id };
}
