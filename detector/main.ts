// The `detector` entrypoint: node detector/main.ts, configured as docs/contracts.md describes.
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { ConfigError, loadDetectorConfig } from "./config/detectorConfig.ts";
import { loadDetectorSecrets } from "./config/detectorSecrets.ts";
import { defaultSecretsReloadMs, secretsFingerprint, secretsSnapshot } from "./config/secretsWatcher.ts";
import { startDetector, type RunningDetector } from "./detector.ts";

export { startDetector } from "./detector.ts";
export type { DetectorOptions, RunningDetector } from "./detector.ts";

/** How long in-flight requests get to finish after SIGTERM before the process exits anyway. */
const shutdownGraceMs = 25_000;
/** How long a stopping detector goes on serving, not ready, while its endpoint leaves the Service (default). */
const defaultDrainSeconds = 5;

export async function main(): Promise<void> {
  const log = pino({ level: process.env.MINIXDR_LOG_LEVEL ?? "info", base: { component: "detector" } });
  let detector: RunningDetector;
  let stop = (_reason: string): void => {};
  let drainSeconds = defaultDrainSeconds;
  try {
    drainSeconds = process.env.MINIXDR_SHUTDOWN_DRAIN_SECONDS === undefined ? defaultDrainSeconds : Number(process.env.MINIXDR_SHUTDOWN_DRAIN_SECONDS);
    if (!(drainSeconds >= 0 && drainSeconds <= 20)) throw new ConfigError("MINIXDR_SHUTDOWN_DRAIN_SECONDS must be a number of seconds from 0 to 20");
    const config = await loadDetectorConfig(process.env.MINIXDR_CONFIG_FILE ?? "/etc/minixdr/config/detector.json", (keys) => {
      log.warn({ keys }, "config: keys this detector does not know are ignored (written by a newer operator: run the detector image of the operator's version to use them)");
    });
    const secretsDir = process.env.MINIXDR_SECRETS_DIR ?? "/etc/minixdr/secrets";
    const reloadSeconds = process.env.MINIXDR_SECRETS_RELOAD_SECONDS === undefined ? defaultSecretsReloadMs / 1000 : Number(process.env.MINIXDR_SECRETS_RELOAD_SECONDS);
    if (!(reloadSeconds > 0 && reloadSeconds <= 3600)) throw new ConfigError("MINIXDR_SECRETS_RELOAD_SECONDS must be a number of seconds from above 0 to 3600");
    // One generation of the mounted Secret, fingerprinted and read together.
    const snapshot = await secretsSnapshot(secretsDir);
    const fingerprint = await secretsFingerprint(snapshot);
    const secrets = await loadDetectorSecrets(snapshot, config);
    const certFile = process.env.MINIXDR_TLS_CERT_FILE;
    const keyFile = process.env.MINIXDR_TLS_KEY_FILE;
    if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError("MINIXDR_TLS_CERT_FILE and MINIXDR_TLS_KEY_FILE must be set together");
    const tls = certFile && keyFile ? { cert: await readFile(certFile), key: await readFile(keyFile) } : undefined;
    detector = await startDetector({
      config, secrets, tls, logger: log,
      secretsReload: { dir: secretsDir, fingerprint, intervalMs: reloadSeconds * 1000 },
      // The container restarts (restartPolicy Always) and opens the store with the new value.
      onRestartNeeded: (reason) => stop(reason),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`detector: ${err.message}`);
      process.exit(2);
    }
    log.fatal({ err }, "detector failed to start");
    process.exit(1);
  }
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));
  let stopping = false;
  stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    // Endpoints leave the Service a moment after the pod is marked terminating: until then, new connections still
    // come here. Not ready, and still serving, for drainSeconds; then no new requests, and in-flight ones finish.
    log.info({ reason, drainSeconds }, "stopping: not ready, still serving while the endpoint is removed");
    detector.drain();
    setTimeout(() => {
      log.error("in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, drainSeconds * 1000 + shutdownGraceMs).unref();
    const drained = new Promise((r) => setTimeout(r, drainSeconds * 1000));
    drained.then(() => {
      log.info("stopping: finishing in-flight requests");
      return detector.close();
    }).then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, "error while stopping");
      process.exit(1);
    });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

if (import.meta.main) await main();
