import { pino, type DestinationStream, type Level, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  level?: Level | "silent";
  /** Default stdout. */
  destination?: DestinationStream;
}

let root: Logger | undefined;

/** The operator's JSON logger; the latest one created is the parent of `loggerFor` children. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const logger = pino({
    level: opts.level ?? "info",
    base: { component: "minixdr-operator" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, opts.destination ?? pino.destination({ dest: 1, sync: false }));
  root = logger;
  return logger;
}

/** A child logger for one reconcile of `namespace/name` at a given metadata.generation. */
export function loggerFor(key: string, generation?: number, parent: Logger = root ?? createLogger()): Logger {
  const slash = key.indexOf("/");
  const [namespace, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  return parent.child({ key, namespace, name, ...(generation === undefined ? {} : { generation }) });
}
