// Assembles the console: the single-page app, the API proxy, health and readiness; `startConsole` runs it in-process.
import Fastify, { type FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { registerApiProxy } from "./apiProxy.ts";
import { clientError, frameworkError, registerSecurityHeaders } from "./securityHeaders.ts";
import { loadAssets } from "./staticAssets.ts";
import { anyAddress, listenOn } from "../detector/ops/listenAddress.ts";

export interface ConsoleOptions {
  /** Base URL of the detector API, e.g. http://minixdr-detector.security.svc:8080. */
  detectorUrl: string;
  port?: number;
  host?: string;
  logger?: Logger;
  /** Directory of the app's files; the bundled one by default (tests may point elsewhere). */
  staticDir?: string;
}

export interface RunningConsole {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

const readinessTimeoutMs = 2000;

export async function buildConsoleApp(options: ConsoleOptions): Promise<FastifyInstance> {
  const log = options.logger ?? pino({ level: process.env.MINIXDR_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "info", base: { component: "console" } });
  const assets = await loadAssets(options.staticDir);
  const app = Fastify({ loggerInstance: log, bodyLimit: 16 * 1024, frameworkErrors: frameworkError, clientErrorHandler: clientError }) as unknown as FastifyInstance;
  let shuttingDown = false;
  app.addHook("onClose", async () => {
    shuttingDown = true;
    await Promise.resolve();
  });
  registerSecurityHeaders(app);

  app.get("/healthz", (_req, reply) => reply.send({ status: "alive" }));
  app.get("/readyz", async (_req, reply) => {
    const detector = `${options.detectorUrl.replace(/\/+$/, "")}/healthz`;
    let problem = shuttingDown ? "shutting down" : "";
    if (!problem) {
      try {
        const res = await fetch(detector, { signal: AbortSignal.timeout(readinessTimeoutMs) });
        await res.body?.cancel();
        if (!res.ok) problem = `detector /healthz answered ${res.status}`;
      } catch (err) {
        problem = `detector /healthz did not answer: ${(err as Error).message}`;
      }
    }
    return reply.code(problem ? 503 : 200).send({ status: problem ? "not ready" : "ready", problems: problem ? [problem] : [] });
  });

  const index = assets.get("index.html");
  if (!index) throw new Error("console/static/index.html is missing");
  app.get("/", (_req, reply) => reply.type(index.contentType).header("cache-control", "no-cache").send(index.body));
  app.get("/static/:name", (req, reply) => {
    const asset = assets.get((req.params as { name: string }).name);
    if (!asset) return reply.code(404).send({ error: "not found" });
    return reply.type(asset.contentType).header("cache-control", "no-cache").send(asset.body);
  });

  registerApiProxy(app, { detectorUrl: options.detectorUrl });
  return app;
}

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const app = await buildConsoleApp(options);
  await listenOn(options.host ?? anyAddress, (host) => app.listen({ host, port: options.port ?? 8080 }));
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error(`unexpected listen address ${String(address)}`);
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  app.log.info({ url, detectorUrl: options.detectorUrl }, "console listening");
  let closing: Promise<void> | undefined;
  return { url, app, close: () => closing ??= app.close() };
}
