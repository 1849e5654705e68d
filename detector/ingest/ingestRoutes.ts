// POST /api/v1/ingest/<format>: ingest-token auth, a body size limit, all-or-nothing validation, 200 only once stored
// (and queued for detection); `?wait=true` answers once the batch has been through detection, with its incidents.
import { isUtf8 } from "node:buffer";
import { getHeapStatistics } from "node:v8";
import { gunzip, inflate } from "node:zlib";
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import type { DetectionLoop } from "../detection/detectionLoop.ts";
import type { DetectorMetrics } from "../ops/detectorMetrics.ts";
import type { Repository } from "../store/repository.ts";
import { requireIngestToken, type IngestTokenSet } from "../api/authentication.ts";
import { ingestFormats } from "./formats.ts";
import { ingestBatch } from "./ingestBatch.ts";

export interface IngestRouteDeps {
  repository: Repository;
  detection: DetectionLoop;
  metrics: DetectorMetrics;
  ingestTokens: IngestTokenSet;
  bodyLimitBytes: number;
  now: () => number;
  /** Undefined while the store is usable; otherwise why ingest must answer 503. */
  storeUnavailable: () => string | undefined;
  /** Events queued here and not yet detected above which ingest answers 503 (detection is behind). */
  maxQueuedEvents?: number;
  /** Bytes of ingest bodies in flight (announced by Content-Length) above which a new one gets 503 before it is read. */
  maxInFlightBodyBytes?: number;
}

/**
 * A sixteenth of the heap: a body is held as bytes, as text, as parsed records and as events until it is stored, ten
 * times its size or more, and every request in flight holds its own. Unbounded, a sender with many workers (or many
 * senders at once) posting 10 MiB batches ran the heap out (768Mi pods: a 384 MB old generation) for every tenant.
 */
export function defaultMaxInFlightBodyBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 16);
}

/** Default back-pressure bound: about a minute of a busy single replica's ingest, and ~100 MB of queued events. */
export const defaultMaxQueuedEvents = 100_000;

export const ingestPathPrefix = "/api/v1/ingest/";

/** The 1-based line of a body that holds its first byte sequence that is not UTF-8. */
function firstLineNotUtf8(body: Buffer): number {
  for (let line = 1, start = 0; ; line++) {
    const end = body.indexOf(10, start);
    if (!isUtf8(body.subarray(start, end === -1 ? body.length : end)) || end === -1) return line;
    start = end + 1;
  }
}

const httpError = (statusCode: number, message: string, code?: string) => Object.assign(new Error(message), { statusCode, ...(code ? { code } : {}) });

/**
 * The body as sent, uncompressed: log shippers (Fluent Bit, Vector) gzip their batches. What it inflates to is held to
 * the same limit as an uncompressed body, so a small bomb is a 413, not the process's memory.
 */
function decompressed(encoding: string | undefined, body: Buffer, limitBytes: number): Promise<Buffer> {
  const name = (encoding ?? "identity").trim().toLowerCase();
  if (name === "identity" || name === "") return Promise.resolve(body);
  const codec = name === "gzip" || name === "x-gzip" ? gunzip : name === "deflate" ? inflate : undefined;
  if (!codec) return Promise.reject(httpError(415, `Content-Encoding ${name} is not supported: send the body as it is, or gzip or deflate it`, "MINIXDR_BODY_ENCODING"));
  return new Promise((resolve, reject) => codec(body, { maxOutputLength: limitBytes }, (err, out) => {
    if (!err) return resolve(out);
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return reject(httpError(413, `the body inflates to more than ${limitBytes} bytes`));
    reject(httpError(400, `the body is not valid ${name} data: ${err.message}`, "MINIXDR_BODY_ENCODING"));
  }));
}

/**
 * Bodies are UTF-8, strictly: decoded leniently, every invalid byte became U+FFFD, so records that differ only there
 * (ids, usernames) were stored as one, the others counted as duplicates.
 */
function decodeBody(body: Buffer): string {
  if (isUtf8(body)) return body.toString("utf8");
  throw httpError(400, `the body is not valid UTF-8 (line ${firstLineNotUtf8(body)}): nothing was stored`, "MINIXDR_BODY_NOT_UTF8");
}

/** A fastify plugin: `app.register(ingestRoutes, deps)`. Its content-type parsers apply to its own routes only. */
export const ingestRoutes: FastifyPluginCallback<IngestRouteDeps> = (app, deps, done) => {
  // Every format is read as text: bodies are JSON, JSON arrays or NDJSON, whatever content type the sender sets.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: deps.bodyLimitBytes }, (req, body, parsed) => {
    decompressed(req.headers["content-encoding"], body as Buffer, deps.bodyLimitBytes)
      .then((raw) => parsed(null, decodeBody(raw)))
      .catch((err: Error) => parsed(err, undefined));
  });
  const onRefused = (source: string) => () => deps.metrics.ingestRefused.inc({ source, reason: "unauthorized" });
  const maxInFlight = deps.maxInFlightBodyBytes ?? defaultMaxInFlightBodyBytes();
  let inFlight = 0;
  /**
   * Admits a body before it is read, by the size it announces (one without Content-Length, chunked, counts as the
   * largest allowed): 503 with Retry-After when the bodies in flight would pass the bound, unless none is (a body the
   * size limit allows always gets through alone). The bytes are counted until the answer is sent or the client goes.
   */
  const admitBody = (source: string) => (req: FastifyRequest, reply: FastifyReply, next: (err?: Error) => void) => {
    const announced = Number(req.headers["content-length"]);
    const bytes = Number.isSafeInteger(announced) && announced >= 0 ? Math.min(announced, deps.bodyLimitBytes) : deps.bodyLimitBytes;
    if (inFlight > 0 && inFlight + bytes > maxInFlight) {
      deps.metrics.ingestRefused.inc({ source, reason: "busy" });
      const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
      void reply.code(503).header("retry-after", "1").send({ error: `the detector is reading ${mib(inFlight)} of ingest bodies already (at most ${mib(maxInFlight)} at once): nothing was stored; retry shortly` });
      return;
    }
    inFlight += bytes;
    let released = false;
    reply.raw.once("close", () => {
      if (released) return;
      released = true;
      inFlight -= bytes;
    });
    next();
  };
  for (const [name, format] of Object.entries(ingestFormats)) {
    app.post(`${ingestPathPrefix}${name}`, { onRequest: [requireIngestToken(deps.ingestTokens, onRefused(format.source)), admitBody(format.source)], bodyLimit: deps.bodyLimitBytes }, async (req, reply) => {
      const unavailable = deps.storeUnavailable();
      if (unavailable) return reply.code(503).header("retry-after", "5").send({ error: `store not ready: ${unavailable}` });
      const wait = (req.query as Record<string, unknown>).wait;
      if (wait !== undefined && wait !== "true" && wait !== "false") return reply.code(400).send({ error: "query parameter wait must be true or false" });
      const behind = deps.detection.outstanding;
      if (behind >= (deps.maxQueuedEvents ?? defaultMaxQueuedEvents)) {
        deps.metrics.ingestRefused.inc({ source: format.source, reason: "detection_behind" });
        deps.detection.catchUp();
        return reply.code(503).header("retry-after", "2").send({ error: `detection is behind (${behind} events queued): nothing was stored; retry shortly` });
      }
      const tenant = req.ingestTenant!;
      const endTimer = deps.metrics.ingestDuration.startTimer({ source: format.source });
      const body = typeof req.body === "string" ? req.body : "";
      const result = await ingestBatch(deps, format, body, tenant, deps.now());
      endTimer();
      if (!result.ok) {
        deps.metrics.ingestRefused.inc({ source: format.source, reason: "invalid" });
        req.log.warn({ tenant, source: format.source, issues: result.issues.slice(0, 20) }, "ingest batch refused");
        if (!result.truncated) return reply.code(400).send({ error: "invalid batch: nothing was stored", issues: result.issues });
        return reply.code(400).send({ error: `invalid batch: nothing was stored; the first ${result.issues.length} problems are listed, the rest of the batch was not checked`, issues: result.issues, truncated: true });
      }
      deps.metrics.eventsIngested.inc({ source: format.source, tenant }, result.accepted);
      deps.detection.queued(result.accepted);
      const answer = { accepted: result.accepted, duplicates: result.duplicates, ignored: result.ignored };
      if (wait !== "true") return { ...answer, detection: "queued" };
      const outcomes = await deps.detection.detected(result.events);
      if (!outcomes) return { ...answer, detection: "queued" };
      return { ...answer, detection: "done", incidents: outcomes.map((o) => ({ id: o.incident.id, technique: o.incident.detectionKey, created: o.created })) };
    });
  }
  done();
};
