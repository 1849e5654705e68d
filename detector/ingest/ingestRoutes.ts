// POST /api/v1/ingest/<format>: ingest-token auth, a body size limit, all-or-nothing validation, 200 only once stored.
import type { FastifyInstance } from "fastify";
import type { DetectionEngine } from "../detection/detectionEngine.ts";
import type { DetectorMetrics } from "../ops/detectorMetrics.ts";
import type { Repository } from "../store/repository.ts";
import { requireIngestToken } from "../api/authentication.ts";
import { ingestFormats } from "./formats.ts";
import { ingestBatch } from "./ingestBatch.ts";

export interface IngestRouteDeps {
  repository: Repository;
  engine: DetectionEngine;
  metrics: DetectorMetrics;
  ingestTokens: Map<string, string>;
  bodyLimitBytes: number;
  now: () => number;
  /** Undefined while the store is usable; otherwise why ingest must answer 503. */
  storeUnavailable: () => string | undefined;
}

export const ingestPathPrefix = "/api/v1/ingest/";

export function registerIngestRoutes(app: FastifyInstance, deps: IngestRouteDeps): void {
  void app.register((scope, _opts, done) => {
    // Every format is read as text: bodies are JSON, JSON arrays or NDJSON, whatever content type the sender sets.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "string", bodyLimit: deps.bodyLimitBytes }, (_req, body, parsed) => parsed(null, body));
    const onRefused = (source: string) => () => deps.metrics.eventsRejected.inc({ source, reason: "unauthorized" });
    for (const [name, format] of Object.entries(ingestFormats)) {
      scope.post(`${ingestPathPrefix}${name}`, { onRequest: requireIngestToken(deps.ingestTokens, onRefused(format.source)), bodyLimit: deps.bodyLimitBytes }, async (req, reply) => {
        const unavailable = deps.storeUnavailable();
        if (unavailable) return reply.code(503).header("retry-after", "5").send({ error: `store not ready: ${unavailable}` });
        const tenant = req.ingestTenant!;
        const endTimer = deps.metrics.ingestDuration.startTimer({ source: format.source });
        const body = typeof req.body === "string" ? req.body : "";
        const result = await ingestBatch(deps, format, body, tenant, deps.now());
        endTimer();
        if (!result.ok) {
          deps.metrics.eventsRejected.inc({ source: format.source, reason: "invalid" }, new Set(result.issues.map((i) => i.item)).size);
          req.log.warn({ tenant, source: format.source, issues: result.issues.slice(0, 20) }, "ingest batch refused");
          return reply.code(400).send({ error: "invalid batch: nothing was stored", issues: result.issues });
        }
        deps.metrics.eventsIngested.inc({ source: format.source, tenant }, result.accepted);
        const created = result.incidents.filter((i) => i.created);
        if (created.length > 0) req.log.info({ tenant, incidents: created }, "incidents raised");
        return { accepted: result.accepted, duplicates: result.duplicates, ignored: result.ignored, incidents: result.incidents };
      });
    }
    done();
  });
}
