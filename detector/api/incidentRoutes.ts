// Incident API: list (viewer), get (viewer), change status (analyst); every query is scoped to the caller's tenant.
import type { FastifyPluginCallback } from "fastify";
import { z } from "zod";
import { parseSourceTimestamp, ipField } from "../ingest/fields.ts";
import { incidentStatuses, severities, type Incident } from "../incidents/incident.ts";
import { incidentSorts, type Repository } from "../store/repository.ts";
import { requireRole, type ApiAuth } from "./authentication.ts";
import { decodeCursor, encodeCursor, maxCursorLength } from "./incidentCursor.ts";
import { incidentView } from "./incidentView.ts";
import { parseOr400, send400 } from "./requestValidation.ts";

const listQuery = z.strictObject({
  status: z.enum(incidentStatuses).optional(),
  severity: z.enum(severities).optional(),
  technique: z.string().regex(/^(T\d{4}(\.\d{3})?|anomaly)$/, "must be an ATT&CK technique id such as T1110.001, or anomaly").optional(),
  sourceIp: ipField.optional(),
  since: z.string().transform((s, ctx) => parseSourceTimestamp(s) ?? (ctx.addIssue({ code: "custom", message: "must be an ISO-8601 timestamp with a time zone" }), z.NEVER)).optional(),
  // Decimal digits only: Number() would also take 0x10, 1e3 and " 7".
  limit: z.string().regex(/^\d{1,9}$/, "must be a whole number").transform(Number).pipe(z.number().min(1).max(200)).default(50),
  sort: z.enum(incidentSorts, `must be one of ${incidentSorts.join(", ")} (newest first; a cursor pages on in either)`).default("lastSeen"),
  // Where the page starts: the `next` of the previous page. Deprecated offset paging skips or repeats incidents as they change.
  cursor: z.string().min(1, "must not be empty").max(maxCursorLength, "is not a cursor this API issued: pass the `next` of the previous page unchanged").optional(),
  offset: z.string().regex(/^\d{1,9}$/, "must be a whole number").transform(Number).optional(),
});

// UUIDs are case-insensitive; the store keeps them lowercase.
const idParams = z.strictObject({ id: z.uuid("must be an incident id (a UUID)").transform((id) => id.toLowerCase()) });
const statusBody = z.strictObject({ status: z.enum(incidentStatuses) });

export interface IncidentRouteDeps {
  repository: Repository;
  auth: ApiAuth;
  now: () => number;
}

/** An incident's version as an HTTP entity tag: its last change (status or detection), in ms. */
function entityTag(incident: Incident): string {
  return `"${incident.updatedAt}"`;
}

/**
 * The version an If-Match asks for: undefined when there is none or it is "*" (any version), "invalid" when it names
 * no version of ours. One tag only (a list could name two versions of one incident); weak tags never match (RFC 9110).
 */
function expectedVersion(header: string | string[] | undefined): number | undefined | "invalid" {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(",") : header).trim();
  if (value === "*") return undefined;
  const m = /^"(\d{1,16})"$/.exec(value);
  return m ? Number(m[1]) : "invalid";
}

/** A fastify plugin: `app.register(incidentRoutes, deps)`. */
export const incidentRoutes: FastifyPluginCallback<IncidentRouteDeps> = (app, deps, done) => {
  const viewer = requireRole(deps.auth, "viewer");
  const analyst = requireRole(deps.auth, "analyst");

  app.get("/api/v1/incidents", { onRequest: viewer }, async (req, reply) => {
    const q = parseOr400(listQuery, req.query, "query", reply);
    if (!q) return reply;
    const tenant = req.principal!.tenant;
    const { cursor, limit, sort, offset, ...filters } = q;
    if (cursor !== undefined && offset !== undefined) return send400(reply, "query", [{ field: "cursor", message: "cannot be combined with offset: the cursor says where the page starts" }]);
    const after = cursor === undefined ? undefined : decodeCursor(cursor, tenant, sort, filters);
    if (after && "invalid" in after) return send400(reply, "query", [{ field: "cursor", message: after.invalid }]);
    // One more than the page, to tell whether a next page has anything.
    const page = await deps.repository.listIncidents(tenant, { ...filters, sort, ...(after ? { after } : {}), limit: limit + 1, offset: offset ?? 0 });
    const items = page.items.slice(0, limit);
    const next = page.items.length > limit ? encodeCursor(tenant, sort, filters, items.at(-1)!) : null;
    return { items: items.map(incidentView), total: page.total, limit, offset: offset ?? 0, sort, next };
  });

  app.get("/api/v1/incidents/:id", { onRequest: viewer }, async (req, reply) => {
    const params = parseOr400(idParams, req.params, "params", reply);
    if (!params) return reply;
    const incident = await deps.repository.getIncident(req.principal!.tenant, params.id);
    if (!incident) return reply.code(404).send({ error: `incident ${params.id} not found` });
    return reply.header("etag", entityTag(incident)).send(incidentView(incident));
  });

  app.patch("/api/v1/incidents/:id", { onRequest: analyst }, async (req, reply) => {
    const params = parseOr400(idParams, req.params, "params", reply);
    const body = params && parseOr400(statusBody, req.body, "body", reply);
    if (!params || !body) return reply;
    const ifMatch = expectedVersion(req.headers["if-match"]);
    if (ifMatch === "invalid") return reply.code(400).send({ error: 'If-Match must be "*" or the ETag of the incident as read (a quoted number)' });
    const result = await deps.repository.setIncidentStatus(req.principal!.tenant, params.id, body.status, req.principal!.username, deps.now(), ifMatch);
    if (!result) return reply.code(404).send({ error: `incident ${params.id} not found` });
    if ("conflict" in result) {
      // Another analyst, or new activity merged by a detection pass, changed it since it was read: decide again.
      return reply.code(412).header("etag", entityTag(result.conflict)).send({
        error: `incident ${params.id} changed since it was read (updated ${new Date(result.conflict.updatedAt).toISOString()}): reload it and decide again`,
        incident: incidentView(result.conflict),
      });
    }
    req.log.info({ incident: params.id, status: body.status, by: req.principal!.username }, "incident status changed");
    return reply.header("etag", entityTag(result)).send(incidentView(result));
  });
  done();
};
