// The `console` entrypoint: serves the analysts' web console on MINIXDR_CONSOLE_PORT (8080), talking to MINIXDR_DETECTOR_URL.
import { pino } from "pino";
import { startConsole, type RunningConsole } from "./consoleServer.ts";
import { anyAddress } from "../detector/ops/listenAddress.ts";

export { buildConsoleApp, startConsole } from "./consoleServer.ts";
export type { ConsoleOptions, RunningConsole } from "./consoleServer.ts";

const shutdownGraceMs = 25_000;

export class ConsoleConfigError extends Error {
  override name = "ConsoleConfigError";
}

/** Reads the console's settings from the environment, naming the variable in any error. */
export function consoleSettings(env: NodeJS.ProcessEnv): { detectorUrl: string; port: number; host: string } {
  const raw = env.MINIXDR_DETECTOR_URL;
  if (!raw) throw new ConsoleConfigError("MINIXDR_DETECTOR_URL must be set to the detector API's base URL, e.g. http://minixdr-detector:8080");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConsoleConfigError(`MINIXDR_DETECTOR_URL is not a URL: ${raw}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConsoleConfigError(`MINIXDR_DETECTOR_URL must be http or https, not ${url.protocol}`);
  // Decimal digits only: Number() took "" as 0 (a random port) and 0x1F90 as 8080.
  const rawPort = env.MINIXDR_CONSOLE_PORT ?? "8080";
  const port = /^[0-9]{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new ConsoleConfigError(`MINIXDR_CONSOLE_PORT must be a port number (1-65535, decimal), not ${JSON.stringify(rawPort)}`);
  return { detectorUrl: raw.replace(/\/+$/, ""), port, host: env.MINIXDR_CONSOLE_HOST ?? anyAddress };
}

export async function main(): Promise<void> {
  const log = pino({ level: process.env.MINIXDR_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "info", base: { component: "console" } });
  let running: RunningConsole;
  try {
    running = await startConsole({ ...consoleSettings(process.env), logger: log });
  } catch (err) {
    if (err instanceof ConsoleConfigError) {
      console.error(`console: ${err.message}`);
      process.exit(2);
    }
    log.fatal({ err }, "console failed to start");
    process.exit(1);
  }
  const stop = (signal: string) => {
    log.info({ signal }, "stopping: finishing in-flight requests");
    setTimeout(() => process.exit(1), shutdownGraceMs).unref();
    running.close().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, "error while stopping");
      process.exit(1);
    });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

if (import.meta.main) await main();
