// The WHERE clause of an incident listing, for either backend's placeholder style; the tenant is always the first condition.
import type { IncidentQuery } from "./repository.ts";

export function incidentFilter(tenant: string, q: IncidentQuery, placeholder: (n: number) => string): { where: string; params: (string | number)[] } {
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
