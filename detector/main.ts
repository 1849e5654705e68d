// The `detector` entrypoint: node detector/main.ts, configured as docs/contracts.md describes.
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { ConfigError, loadDetectorConfig } from "./config/detectorConfig.ts";
import { loadDetectorSecrets } from "./config/detectorSecrets.ts";
import { startDetector, type RunningDetector } from "./detector.ts";

export { startDetector } from "./detector.ts";
export type { DetectorOptions, RunningDetector } from "./detector.ts";

/** How long in-flight requests get to finish after SIGTERM before the process exits anyway. */
const shutdownGraceMs = 25_000;

export async function main(): Promise<void> {
  const log = pino({ level: process.env.MINIXDR_LOG_LEVEL ?? "info", base: { component: "detector" } });
  let detector: RunningDetector;
  try {
    const config = await loadDetectorConfig(process.env.MINIXDR_CONFIG_FILE ?? "/etc/minixdr/config/detector.json");
    const secrets = await loadDetectorSecrets(process.env.MINIXDR_SECRETS_DIR ?? "/etc/minixdr/secrets", config);
    const certFile = process.env.MINIXDR_TLS_CERT_FILE;
    const keyFile = process.env.MINIXDR_TLS_KEY_FILE;
    if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError("MINIXDR_TLS_CERT_FILE and MINIXDR_TLS_KEY_FILE must be set together");
    const tls = certFile && keyFile ? { cert: await readFile(certFile), key: await readFile(keyFile) } : undefined;
    detector = await startDetector({ config, secrets, tls, logger: log });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`detector: ${err.message}`);
      process.exit(2);
    }
    log.fatal({ err }, "detector failed to start");
    process.exit(1);
  }
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));
  const stop = (signal: string) => {
    log.info({ signal }, "stopping: finishing in-flight requests");
    setTimeout(() => {
      log.error("in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, shutdownGraceMs).unref();
    detector.close().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, "error while stopping");
      process.exit(1);
    });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

if (import.meta.main) await main();
