// Assembles the detector: store, rules and model, API and ingest server, metrics server; `startDetector` runs it in-process.
import { getHeapStatistics } from "node:v8";
import Fastify, { type FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { Accounts } from "./auth/accounts.ts";
import { ApiTokens } from "./auth/apiTokens.ts";
import { LoginGate, type LoginGateLimits } from "./auth/loginGate.ts";
import { IngestTokenSet } from "./api/authentication.ts";
import { incidentRoutes } from "./api/incidentRoutes.ts";
import { userRoutes } from "./api/userRoutes.ts";
import type { AnomalyModel } from "./anomaly/anomalyModel.ts";
import type { DetectorConfig } from "./config/detectorConfig.ts";
import type { DetectorSecrets } from "./config/detectorSecrets.ts";
import { SecretsWatcher } from "./config/secretsWatcher.ts";
import { DetectionEngine } from "./detection/detectionEngine.ts";
import { DetectionLoop } from "./detection/detectionLoop.ts";
import { ingestFormats } from "./ingest/formats.ts";
import { ingestPathPrefix, ingestRoutes } from "./ingest/ingestRoutes.ts";
import { AnomalyScorer } from "./ml/scorer.ts";
import { DetectorMetrics } from "./ops/detectorMetrics.ts";
import { healthRoutes, type ModelState } from "./ops/healthRoutes.ts";
import { PostgresRepository } from "./store/postgresRepository.ts";
import type { Repository } from "./store/repository.ts";
import { cacheSizesFor } from "./store/cacheSizing.ts";
import { EventRetention } from "./store/eventRetention.ts";
import { SqliteRepository } from "./store/sqliteRepository.ts";
import { listenOn } from "./ops/listenAddress.ts";

export interface DetectorOptions {
  config: DetectorConfig;
  secrets: DetectorSecrets;
  /** PEM serving certificate and key: serve https (kube-apiserver sends an audit webhook's token only over https). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  logger?: Logger;
  /** The clock for token times, lockouts and receive times (tests move it). */
  now?: () => number;
  /** The anomaly model; by default AnomalyScorer loads `config.model.path`. `null` runs rules only (for tests). */
  anomalyModel?: AnomalyModel | null;
  /** Largest ingest body accepted; larger ones get 413. */
  ingestBodyLimitBytes?: number;
  /** How many logins are checked at once and wait (`LoginGate`); more get 429. */
  loginGate?: LoginGateLimits;
  /** When event retention runs (`EventRetention`): defaults a minute after start, then hourly. */
  retention?: { initialDelayMs?: number; intervalMs?: number };
  /**
   * Where the secrets were read from, and the fingerprint of those files (`secretsFingerprint`): the detector reads
   * them again every `intervalMs` and takes a rotated value without a restart (tokens, signing key, first admin).
   */
  secretsReload?: { dir: string; fingerprint: string; intervalMs?: number };
  /** A rotated secret needs a new process (the database URL): called with why, e.g. to stop and be restarted. */
  onRestartNeeded?: (reason: string) => void;
  /** Detection pass tuning (`DetectionLoopOptions`) and the back-pressure bound of ingest; defaults suit production. */
  detection?: { lingerMs?: number; passLimit?: number; maxQueuedEvents?: number; maxInFlightBodyBytes?: number };
}

export interface RunningDetector {
  /** Base URL of the API and ingest server, e.g. https://127.0.0.1:8443. */
  url: string;
  metricsUrl: string;
  repository: Repository;
  /**
   * The first step of a shutdown: /readyz answers 503 (so the Service stops sending here) and keep-alive connections
   * are closed after their next answer, while requests are still served.
   */
  drain(): void;
  /** Stops taking requests, lets in-flight ones finish, then closes the store. */
  close(): Promise<void>;
}

export const defaultIngestBodyLimitBytes = 10 * 1024 * 1024;
const apiBodyLimitBytes = 64 * 1024;
const migrationRetryMs = 2000;

function openRepository(config: DetectorConfig, secrets: DetectorSecrets, log: Logger): Repository {
  const limit = process.constrainedMemory();
  const heapLimit = getHeapStatistics().heap_size_limit;
  const cache = cacheSizesFor(limit, heapLimit);
  if (config.storage.driver === "postgres") {
    return new PostgresRepository(secrets.databaseUrl ?? "", (err) => log.warn({ err }, "idle database connection lost"), cache.linkedEvidenceIds);
  }
  log.info({ memoryLimitBytes: limit && limit < Number.MAX_SAFE_INTEGER ? limit : null, heapLimitBytes: heapLimit, cachedEvents: cache.events, linkedEvidenceIds: cache.linkedEvidenceIds },
    "SQLite store: in-memory caches sized from the memory limit");
  return new SqliteRepository(config.storage.path, cache);
}

function listenUrl(app: FastifyInstance, scheme: string): string {
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error(`unexpected listen address ${String(address)}`);
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

export async function startDetector(options: DetectorOptions): Promise<RunningDetector> {
  const { config } = options;
  /** The secrets in use: replaced when the mounted Secret is rotated. */
  let secrets = options.secrets;
  const now = options.now ?? Date.now;
  const log = options.logger ?? pino({ level: process.env.MINIXDR_LOG_LEVEL ?? "info", base: { component: "detector" } });
  const repository = openRepository(config, secrets, log);
  const metrics = new DetectorMetrics(repository, config.tenants);

  // The store may come up after us (PostgreSQL starting alongside): keep trying, and say so in /readyz meanwhile.
  let storeError: string | undefined = "schema not migrated yet";
  let shuttingDown = false;
  let migrationTimer: NodeJS.Timeout | undefined;
  const tokens = new ApiTokens(secrets.jwtSigningKey, now);
  /** The routes check ingest tokens against this set, which a rotation replaces in place. */
  const ingestTokens = new IngestTokenSet(secrets.ingestTokens);
  const accounts = new Accounts(repository, tokens, now, new LoginGate(options.loginGate));
  /** The Secret value the first admin was last provisioned from by this process. */
  let provisionedFrom: string | undefined;
  const provisionFirstAdmin = async (): Promise<void> => {
    const admin = secrets.firstAdmin;
    if (!admin || admin.source === provisionedFrom) return;
    // A value applied before is never applied again: no bcrypt for it (about 300 ms at every start otherwise).
    const outcome = await repository.firstAdminSourceApplied(admin.source) ? "unchanged" : await accounts.provisionFirstAdmin(await admin.passwordHash(), admin.source);
    provisionedFrom = admin.source;
    if (outcome === "created") log.info("created the first admin (user admin, tenant default) from the Secret");
    if (outcome === "reset") log.info("the Secret's admin password changed: user admin (tenant default) has it now; its earlier tokens are revoked");
  };
  /** Set once detection exists: a store that becomes ready later (retried migration) starts it. */
  let onStoreReady = (): void => {};
  const prepareStore = async (): Promise<void> => {
    try {
      await repository.migrate();
      await provisionFirstAdmin();
      storeError = undefined;
      onStoreReady();
    } catch (err) {
      storeError = (err as Error).message;
      log.error({ err, driver: repository.driver }, "store not ready; retrying");
      if (!shuttingDown) migrationTimer = setTimeout(() => void prepareStore(), migrationRetryMs);
    }
  };
  await prepareStore();

  let model: ModelState = { status: "disabled" };
  let anomalyModel: AnomalyModel | undefined;
  if (options.anomalyModel === undefined) {
    try {
      const scorer = await AnomalyScorer.load(config.model.path);
      anomalyModel = scorer;
      model = { status: "loaded", version: scorer.version };
    } catch (err) {
      model = { status: "failed", error: (err as Error).message };
      log.error({ err }, "anomaly model not loaded: detecting with rules only and reporting not ready");
    }
  } else if (options.anomalyModel !== null) {
    anomalyModel = options.anomalyModel;
    model = { status: "loaded", version: anomalyModel.version };
  }

  const engine = new DetectionEngine({
    config: config.detection,
    containment: config.containment.mode,
    anomalyModel,
    now,
    onDetection: (d) => metrics.detections.inc({ technique: d.techniqueId, rule: d.rule }),
    onInference: (s) => metrics.inferenceDuration.observe(s),
    onModelError: (err) => {
      metrics.inferenceFailures.inc();
      log.error({ err }, "anomaly model failed: this detection pass used the rules alone");
    },
  });
  const detection = new DetectionLoop({
    repository, engine, log: log.child({ subsystem: "detection" }),
    ...(options.detection?.lingerMs !== undefined ? { lingerMs: options.detection.lingerMs } : {}),
    ...(options.detection?.passLimit !== undefined ? { passLimit: options.detection.passLimit } : {}),
    onPass: ({ events, seconds, outcomes }) => {
      metrics.detectionPassDuration.observe(seconds);
      const created = outcomes.filter((o) => o.created).map((o) => ({ id: o.incident.id, tenant: o.incident.tenant, sourceIp: o.incident.sourceIp, technique: o.incident.detectionKey }));
      if (created.length > 0) log.info({ incidents: created.slice(0, 50), count: created.length }, "incidents raised");
      let oldest = Infinity;
      for (const e of events) if (e.receivedAt < oldest) oldest = e.receivedAt;
      metrics.detectionLag.observe(Math.max(0, now() - oldest) / 1000);
    },
    onFailure: () => metrics.detectionPassFailures.inc(),
    onSkipped: (e) => metrics.detectionSkipped.inc({ source: e.source }),
  });
  const retention = new EventRetention({
    repository, log: log.child({ subsystem: "retention" }), now, retentionDays: config.storage.eventRetentionDays, ...options.retention,
    onPruned: (n) => metrics.eventsPruned.inc(n),
  });
  // Detects what an earlier run acknowledged and did not get to (once the store is ready).
  onStoreReady = () => {
    detection.start();
    retention.start();
  };
  if (storeError === undefined) onStoreReady();

  const app = Fastify({
    loggerInstance: log,
    bodyLimit: apiBodyLimitBytes,
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    // Ingest bodies are large: allow a slow sender time, but not forever.
    requestTimeout: 60_000,
  }) as unknown as FastifyInstance;

  // While stopping, answer in-flight requests with Connection: close so their keep-alive sockets do not hold the exit.
  app.addHook("onSend", async (_req, reply) => {
    if (shuttingDown) void reply.header("connection", "close");
    await Promise.resolve();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if ((status === 413 || err.code === "MINIXDR_BODY_NOT_UTF8" || err.code === "MINIXDR_BODY_ENCODING") && req.url.startsWith(ingestPathPrefix)) {
      // Labelled by the format's source, as every other rejection is (never by what the sender put in the URL).
      const format = ingestFormats[req.url.slice(ingestPathPrefix.length).split(/[?#]/)[0] ?? ""];
      if (format) metrics.ingestRefused.inc({ source: format.source, reason: status === 413 ? "too_large" : "invalid" });
    }
    if (status === 500) req.log.error({ err }, "request failed");
    void reply.code(status).send({ error: status === 500 ? "internal error: the request was not completed; retry it" : err.message });
  });

  // One plugin per concern: each holds its routes, schemas and hooks (the ingest plugin its own body parsers).
  await app.register(healthRoutes, { repository, model: () => model, storeUnavailable: () => storeError, shuttingDown: () => shuttingDown });
  const auth = { tokens, findUser: (tenant: string, username: string) => repository.findUser(tenant, username), tenants: config.tenants };
  await app.register(userRoutes, { accounts, auth, repository, now, tenants: config.tenants, onLogin: (result) => metrics.logins.inc({ result }) });
  await app.register(incidentRoutes, { repository, auth, now });
  await app.register(ingestRoutes, {
    repository, detection, metrics, ingestTokens, bodyLimitBytes: options.ingestBodyLimitBytes ?? defaultIngestBodyLimitBytes, now,
    storeUnavailable: () => storeError, maxQueuedEvents: options.detection?.maxQueuedEvents, maxInFlightBodyBytes: options.detection?.maxInFlightBodyBytes,
  });

  /** Takes a rotated Secret's values; returns the keys that changed. */
  const useSecrets = async (next: DetectorSecrets): Promise<string[]> => {
    const previous = secrets;
    secrets = next;
    const changed: string[] = [];
    if (next.jwtSigningKey !== previous.jwtSigningKey) {
      tokens.useKey(next.jwtSigningKey);
      changed.push("jwt-signing-key");
    }
    if (ingestTokens.replace(next.ingestTokens)) changed.push("ingest-token");
    // Compared with the URL the store was opened with (only PostgreSQL reads it), so a retried change still asks for
    // the restart; the admin password is then applied by the next start, through the new URL.
    if (config.storage.driver === "postgres" && next.databaseUrl !== options.secrets.databaseUrl) {
      changed.push("database-url");
      return changed;
    }
    if (next.firstAdmin !== undefined && next.firstAdmin.source !== provisionedFrom) {
      changed.push("admin password");
      // A store not ready yet provisions it once it is (prepareStore reads `secrets`). A failure here is thrown, and
      // the watcher hands the same values over again at its next check.
      if (storeError === undefined) await provisionFirstAdmin();
    }
    return changed;
  };
  const secretsWatcher = options.secretsReload && new SecretsWatcher({
    ...options.secretsReload,
    config,
    onChange: async (next) => {
      let changed: string[];
      try {
        changed = await useSecrets(next);
      } catch (err) {
        metrics.secretReloads.inc({ result: "failed" });
        log.error({ err }, "the mounted Secret changed, but applying its new values failed; trying again at the next check");
        throw err;
      }
      metrics.secretReloads.inc({ result: "applied" });
      metrics.secretRejected.set(0);
      log.info({ changed }, "the mounted Secret changed: using its new values");
      if (changed.includes("database-url")) {
        log.warn("secret database-url changed: the store's connections use the old URL; restarting to open them with the new one");
        options.onRestartNeeded?.("secret database-url changed");
      }
    },
    onInvalid: (err) => {
      metrics.secretReloads.inc({ result: "invalid" });
      metrics.secretRejected.set(1);
      log.error({ err }, "the mounted Secret changed to values that are not valid: still using the earlier ones");
    },
  });
  secretsWatcher?.start();

  const metricsApp = Fastify({ logger: false });
  metricsApp.get("/metrics", async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  await listenOn(config.listen.host, (host) => app.listen({ host, port: config.listen.port }));
  await listenOn(config.listen.host, (host) => metricsApp.listen({ host, port: config.listen.metricsPort }));
  const url = listenUrl(app, options.tls ? "https" : "http");
  const metricsUrl = `${listenUrl(metricsApp, "http")}/metrics`;
  log.info({ url, metricsUrl, storage: repository.driver, model, tenants: config.tenants }, "detector listening");

  let closing: Promise<void> | undefined;
  return {
    url,
    metricsUrl,
    repository,
    drain: () => {
      shuttingDown = true;
    },
    close: () => closing ??= (async () => {
      shuttingDown = true;
      clearTimeout(migrationTimer);
      await secretsWatcher?.stop();
      // fastify answers new requests with 503 and waits for in-flight ones before resolving.
      await app.close();
      // Detects what is still queued (bounded); anything left is detected by the next start.
      await detection.stop();
      await retention.stop();
      await metricsApp.close();
      await repository.close();
      log.info("detector stopped");
    })(),
  };
}
