// The WHERE clause and order of an incident listing, for either backend's placeholder style; the tenant is always the first condition.
import type { IncidentQuery, IncidentSort } from "./repository.ts";

/**
 * Each order the list offers, newest first, by one column and then the id (both descending): a total order, the same
 * on both stores (PostgreSQL orders UUIDs by their bytes, which is SQLite's order of their lowercase text). Each has an
 * index (tenant, column, id), so a page after a position is a range read of the index that stops after `limit` rows.
 */
export const incidentSortColumns: Record<IncidentSort, "last_seen" | "created_at"> = { lastSeen: "last_seen", createdAt: "created_at" };

export function incidentFilter(tenant: string, q: Omit<IncidentQuery, "limit" | "offset">, placeholder: (n: number) => string): { where: string; params: (string | number)[] } {
  const params: (string | number)[] = [tenant];
  const conditions = [`tenant = ${placeholder(1)}`];
  const add = (sql: (p: string) => string, value: string | number) => {
    params.push(value);
    conditions.push(sql(placeholder(params.length)));
  };
  if (q.status) add((p) => `status = ${p}`, q.status);
  if (q.severity) add((p) => `severity = ${p}`, q.severity);
  if (q.technique) add((p) => `detection_key = ${p}`, q.technique);
  if (q.sourceIp) add((p) => `source_ip = ${p}`, q.sourceIp);
  if (q.since !== undefined) add((p) => `last_seen >= ${p}`, q.since);
  return { where: conditions.join(" AND "), params };
}

/**
 * One page of a listing: `count` (every incident the filters select, for `total`) and `page` (the page's rows: after
 * the `after` position when there is one, then `offset` rows skipped), with their parameters.
 */
export function incidentListing(tenant: string, q: IncidentQuery, placeholder: (n: number) => string): { count: string; page: string; countParams: (string | number)[]; pageParams: (string | number)[] } {
  const { where, params } = incidentFilter(tenant, q, placeholder);
  const column = incidentSortColumns[q.sort ?? "lastSeen"];
  const pageParams = [...params];
  const next = (value: string | number) => placeholder(pageParams.push(value));
  // A row value: one range condition on the index's (column, id), which both stores read as a range of the index.
  const after = q.after ? ` AND (${column}, id) < (${next(q.after.key)}, ${next(q.after.id)})` : "";
  const page = `SELECT * FROM incidents WHERE ${where}${after} ORDER BY ${column} DESC, id DESC LIMIT ${next(q.limit)} OFFSET ${next(q.offset)}`;
  return { count: `SELECT count(*) AS n FROM incidents WHERE ${where}`, page, countParams: params, pageParams };
}
