// /healthz, /readyz and /metrics on node:http: three read-only routes do not need a web framework (fastify alone
// added ~20 MB to the operator's resident memory).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { SyncStatus } from "./informer.ts";
import type { OperatorMetrics } from "./metrics.ts";
import { http } from "./node-http.ts";

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
  /** Whether this replica leads but its controller has not started yet (its informers are not there to be counted). */
  isStarting?: () => boolean;
  /** Errors are logged here; requests are not. */
  logger?: Logger;
}

export interface Readiness {
  ready: boolean;
  leader: boolean;
  /** Leading, with the controller still starting (e.g. waiting for the API server's discovery): not ready. */
  starting: boolean;
  informers: { name: string; synced: boolean; available: boolean | null; optional: boolean; reason?: string }[];
}

export function readiness(opts: Pick<ServerOptions, "informers" | "isLeader" | "isStarting">): Readiness {
  const informers = opts.informers().map(({ informer, optional = false }) => ({
    name: informer.name,
    synced: informer.hasSynced,
    available: informer.available ?? null,
    optional,
    ...(informer.unavailableReason ? { reason: informer.unavailableReason } : {}),
  }));
  const starting = opts.isStarting?.() ?? false;
  const ready = !starting && informers.every((i) => i.synced || (i.optional && i.available === false));
  return { ready, leader: opts.isLeader(), starting, informers };
}

export interface OperatorServer {
  listen(opts: { port: number; host: string }): Promise<void>;
  /** The port it listens on (the one the OS chose for port 0). */
  readonly port: number;
  /** Stops accepting connections and closes idle ones. */
  close(): Promise<void>;
}

const json = "application/json; charset=utf-8";

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(req.method === "HEAD" ? undefined : body);
}

async function route(opts: ServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  const readable = req.method === "GET" || req.method === "HEAD";
  if (readable && path === "/healthz") return send(req, res, 200, json, JSON.stringify({ ok: true }));
  if (readable && path === "/readyz") {
    const r = readiness(opts);
    return send(req, res, r.ready ? 200 : 503, json, JSON.stringify(r));
  }
  if (readable && path === "/metrics") return send(req, res, 200, opts.metrics.contentType, await opts.metrics.text());
  send(req, res, 404, json, JSON.stringify({ statusCode: 404, error: "Not Found", message: `Route ${req.method ?? ""}:${path ?? ""} not found` }));
}

/** /healthz (the process answers), /readyz (informers synced) and /metrics (Prometheus text). */
export function buildServer(opts: ServerOptions): OperatorServer {
  const server = http.createServer((req, res) => {
    route(opts, req, res).catch((err: unknown) => {
      opts.logger?.error({ err, url: req.url }, "request failed");
      if (res.headersSent) res.destroy();
      else send(req, res, 500, json, JSON.stringify({ statusCode: 500, error: "Internal Server Error" }));
    });
  });
  return {
    listen: ({ port, host }) => new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    }),
    get port() {
      return (server.address() as AddressInfo | null)?.port ?? 0;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
