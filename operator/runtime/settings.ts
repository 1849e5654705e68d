import { hostname } from "node:os";
import { z } from "zod";
import { anyAddress } from "../../detector/ops/listenAddress.ts";

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export interface Settings {
  metricsPort: number;
  bindAddress: string;
  concurrency: number;
  /** 0 turns periodic resync off. */
  resyncSeconds: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  leaderIdentity: string;
  /** Empty: all namespaces. */
  watchNamespace: string;
  logLevel: (typeof logLevels)[number];
  /** The pods' user ids: `auto` (platform-assigned where the API server serves OpenShift's SecurityContextConstraints), `fixed` (1000), `platform`. */
  podUserIds: "auto" | "fixed" | "platform";
  /** Kubeconfig file(s); empty: ~/.kube/config if it exists, else the pod's ServiceAccount (operator/kube/config.ts). */
  kubeconfig: string;
}

interface Option<K extends keyof Settings> {
  key: K;
  flag: string;
  env: string;
  /** What a user may pass, said the way the error message needs it. */
  allowed: string;
  schema: z.ZodType<Settings[K], string>;
  default: (env: NodeJS.ProcessEnv) => Settings[K];
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const int = (min: number, max: number) => z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
const bool = z.string().trim().toLowerCase().pipe(z.enum(["true", "false", "1", "0", "yes", "no"])).transform((v) => ["true", "1", "yes"].includes(v));

const options: { [K in keyof Settings]: Option<K> } = {
  metricsPort: { key: "metricsPort", flag: "--metrics-port", env: "MINIXDR_METRICS_PORT", allowed: "a port number from 1 to 65535",
    schema: int(1, 65535), default: () => 8080 },
  bindAddress: { key: "bindAddress", flag: "--bind-address", env: "MINIXDR_BIND_ADDRESS", allowed: "an IPv4 or IPv6 address",
    schema: z.union([z.ipv4(), z.ipv6()]), default: () => anyAddress },
  concurrency: { key: "concurrency", flag: "--concurrency", env: "MINIXDR_CONCURRENCY", allowed: "a whole number of parallel reconciles from 1 to 64",
    schema: int(1, 64), default: () => 4 },
  resyncSeconds: { key: "resyncSeconds", flag: "--resync-seconds", env: "MINIXDR_RESYNC_SECONDS", allowed: "whole seconds from 0 (off) to 86400",
    schema: int(0, 86_400), default: () => 300 },
  leaderElect: { key: "leaderElect", flag: "--leader-elect", env: "MINIXDR_LEADER_ELECT", allowed: "true or false (also 1/0, yes/no)",
    schema: bool, default: () => false },
  leaseNamespace: { key: "leaseNamespace", flag: "--lease-namespace", env: "MINIXDR_LEASE_NAMESPACE", allowed: "a namespace name (DNS label)",
    schema: z.string().regex(dnsLabel), default: (env) => env.POD_NAMESPACE || "minixdr-system" },
  leaseName: { key: "leaseName", flag: "--lease-name", env: "MINIXDR_LEASE_NAME", allowed: "a Lease name (DNS subdomain)",
    schema: z.string().regex(dnsSubdomain), default: () => "minixdr-operator" },
  leaderIdentity: { key: "leaderIdentity", flag: "--leader-identity", env: "MINIXDR_LEADER_IDENTITY", allowed: "a non-empty string of at most 253 characters",
    schema: z.string().min(1).max(253), default: (env) => env.POD_NAME || hostname() },
  watchNamespace: { key: "watchNamespace", flag: "--watch-namespace", env: "MINIXDR_WATCH_NAMESPACE", allowed: "a namespace name (DNS label), or empty for all namespaces",
    schema: z.union([z.literal(""), z.string().regex(dnsLabel)]), default: () => "" },
  logLevel: { key: "logLevel", flag: "--log-level", env: "MINIXDR_LOG_LEVEL", allowed: `one of ${logLevels.join(", ")}`,
    schema: z.enum(logLevels), default: () => "info" },
  podUserIds: { key: "podUserIds", flag: "--pod-user-ids", env: "MINIXDR_POD_USER_IDS",
    allowed: "auto (platform where the API server serves security.openshift.io/v1 SecurityContextConstraints, else fixed), fixed (uid, gid and fsGroup 1000) or platform (none: the platform assigns them)",
    schema: z.enum(["auto", "fixed", "platform"]), default: () => "auto" },
  kubeconfig: { key: "kubeconfig", flag: "--kubeconfig", env: "KUBECONFIG",
    allowed: "a kubeconfig file (KUBECONFIG may list several, separated by ':'), or empty for ~/.kube/config, else the pod's ServiceAccount",
    schema: z.string(), default: () => "" },
};

export class SettingsError extends Error {
  override name = "SettingsError";
}

/** One line per option, for --help. */
export function settingsUsage(): string {
  return Object.values(options).map((o) => `  ${o.flag} (env ${o.env}): ${o.allowed}; default ${JSON.stringify(o.default(process.env))}`).join("\n");
}

/**
 * Reads the operator's settings: a flag wins over its environment variable, which wins over the default.
 * Flags take `--name=value` or `--name value`; a boolean flag alone means true. Every problem is reported
 * at once, each naming the flag, the variable and what is allowed.
 */
export function loadSettings(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Settings {
  const byFlag = new Map(Object.values(options).map((o) => [o.flag, o] as const));
  const fromFlags = new Map<keyof Settings, string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const option = byFlag.get(flag);
    if (!option) {
      problems.push(`unknown argument ${JSON.stringify(arg)}; known flags: ${[...byFlag.keys()].join(", ")}`);
      continue;
    }
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = argv[i + 1];
      if (option.key === "leaderElect" && (next === undefined || next.startsWith("--"))) value = "true";
      else if (next === undefined) {
        problems.push(`${option.flag} needs a value: ${option.allowed}`);
        continue;
      } else {
        value = next;
        i++;
      }
    }
    fromFlags.set(option.key, value);
  }

  const settings: Partial<Record<keyof Settings, unknown>> = {};
  for (const o of Object.values(options) as Option<keyof Settings>[]) {
    const raw = fromFlags.get(o.key) ?? env[o.env];
    if (raw === undefined) {
      settings[o.key] = o.default(env);
      continue;
    }
    const parsed = o.schema.safeParse(raw);
    if (parsed.success) settings[o.key] = parsed.data;
    else {
      const source = fromFlags.has(o.key) ? `flag ${o.flag}` : `environment variable ${o.env}`;
      problems.push(`invalid ${o.flag} / ${o.env}: ${JSON.stringify(raw)} (from the ${source}) is not ${o.allowed}`);
    }
  }
  if (problems.length > 0) throw new SettingsError(`invalid operator settings:\n- ${problems.join("\n- ")}`);
  return settings as unknown as Settings;
}
