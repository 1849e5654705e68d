import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { SyncStatus } from "./informer.ts";
import type { OperatorMetrics } from "./metrics.ts";

export interface WatchedType {
  informer: SyncStatus;
  /** A type whose CRD may be missing (ExternalSecret): not being served does not make the operator unready. */
  optional?: boolean;
}

export interface ServerOptions {
  metrics: OperatorMetrics;
  /** Read on every /readyz, so informers added later count. */
  informers: () => readonly WatchedType[];
  /** Whether this replica leads; a follower is still ready, it just does not reconcile. */
  isLeader: () => boolean;
  /** A pino logger; request logging stays off, errors are logged. */
  logger?: FastifyBaseLogger;
}

export interface Readiness {
  ready: boolean;
  leader: boolean;
  informers: { name: string; synced: boolean; available: boolean | null; optional: boolean; reason?: string }[];
}

export function readiness(opts: Pick<ServerOptions, "informers" | "isLeader">): Readiness {
  const informers = opts.informers().map(({ informer, optional = false }) => ({
    name: informer.name,
    synced: informer.hasSynced,
    available: informer.available ?? null,
    optional,
    ...(informer.unavailableReason ? { reason: informer.unavailableReason } : {}),
  }));
  const ready = informers.every((i) => i.synced || (i.optional && i.available === false));
  return { ready, leader: opts.isLeader(), informers };
}

/** /healthz (the process answers), /readyz (informers synced) and /metrics (Prometheus text). */
export function buildServer(opts: ServerOptions): FastifyInstance {
  const app: FastifyInstance = opts.logger
    ? Fastify({ loggerInstance: opts.logger, disableRequestLogging: true })
    : Fastify({ logger: false });
  app.get("/healthz", () => ({ ok: true }));
  app.get("/readyz", async (_req, reply) => {
    const r = readiness(opts);
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get("/metrics", async (_req, reply) => {
    const text = await opts.metrics.text();
    return reply.type(opts.metrics.contentType).send(text);
  });
  return app;
}
