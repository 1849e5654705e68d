// The detector's configuration file (ConfigMap key detector.json, docs/contracts.md); unknown keys are refused by name.
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { z } from "zod";
import { anyAddress } from "../ops/listenAddress.ts";

const port = z.number().int().min(0).max(65535);

/** An IPv4 or IPv6 address, '/', and a prefix length that fits it. */
export function isCidr(s: string): boolean {
  const [address, prefix, ...rest] = s.split("/");
  const family = isIP(address ?? "");
  return rest.length === 0 && family !== 0 && /^\d{1,3}$/.test(prefix ?? "") && Number(prefix) <= (family === 4 ? 32 : 128);
}
const seconds = z.number().int().min(1).max(7 * 24 * 3600);
/** A tenant's name: a DNS label. */
export const tenantNamePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const tenantName = z.string().regex(tenantNamePattern, "must be a DNS label: lowercase letters, digits and '-'");

export const detectionConfigSchema = z.strictObject({
  bruteForce: z.strictObject({ threshold: z.number().int().min(2).default(6), windowSeconds: seconds.default(60) }).prefault({}),
  passwordSpray: z.strictObject({ distinctUsers: z.number().int().min(2).default(5), windowSeconds: seconds.default(300) }).prefault({}),
  portScan: z.strictObject({ distinctPorts: z.number().int().min(2).default(20), windowSeconds: seconds.default(60) }).prefault({}),
  exfiltration: z.strictObject({ bytesOut: z.number().int().min(1).default(104_857_600), windowSeconds: seconds.default(300) }).prefault({}),
  loginAfterFailures: z.strictObject({ failures: z.number().int().min(1).default(3), windowSeconds: seconds.default(600) }).prefault({}),
  toolDownload: z.strictObject({ windowSeconds: seconds.default(3600) }).prefault({}),
  kubernetes: z.strictObject({
    windowSeconds: seconds.default(600),
    // The MiniXdr operator's own users: their lists and watches of the Secrets it manages (selected by its managed-by
    // label, as its informer does) are not secret access; anything else they do is judged like anyone's.
    operatorIdentities: z.array(z.string().min(1)).default([]),
  }).prefault({}),
  anomalyThreshold: z.number().min(0).max(1).default(0.8),
  /**
   * Detections not to record (detection/suppressions.ts): each names what it covers, and a detection it covers in
   * every field it gives raises no incident. For what the organisation knows and accepts: a monitoring poller's port
   * sweep, a backup's transfer, developers' exec in their own namespaces.
   */
  suppressions: z.array(z.strictObject({
    techniques: z.array(z.string().regex(/^(T\d{4}(\.\d{3})?|anomaly)$/, "must be an ATT&CK technique id such as T1046, or anomaly")).min(1).optional(),
    sourceCidrs: z.array(z.string().refine(isCidr, "must be a CIDR block such as 10.0.0.0/8")).min(1).optional(),
    actors: z.array(z.string().min(1)).min(1).optional(),
    namespaces: z.array(z.string().min(1)).min(1).optional(),
  }).refine((s) => Object.keys(s).length > 0, "must name at least one of techniques, sourceCidrs, actors, namespaces")).default([]),
});

/** What the operator writes at the top of the files it renders (`writtenBy`). */
export const operatorWriter = "minixdr-operator";

export const detectorConfigSchema = z.strictObject({
  component: z.literal("detector").default("detector"),
  /**
   * `minixdr-operator`: the operator wrote the file. A key this detector does not know is then one a newer operator
   * added (a MiniXdr pinning an older detector image): ignored and logged, not refused, so an operator upgrade does not
   * crash-loop a detector it did not upgrade. A file written by hand is checked strictly.
   */
  writtenBy: z.literal(operatorWriter).optional(),
  listen: z.strictObject({ host: z.string().min(1).default(anyAddress), port: port.default(8080), metricsPort: port.default(9090) }).prefault({}),
  storage: z.strictObject({
    driver: z.enum(["sqlite", "postgres"]).default("sqlite"),
    path: z.string().min(1).default("/var/lib/minixdr/minixdr.db"),
    eventRetentionDays: z.number().int().min(1).max(3650).default(30),
  }).prefault({}),
  detection: detectionConfigSchema.prefault({}),
  model: z.strictObject({ path: z.string().min(1).default("/app/detector/ml/model.onnx") }).prefault({}),
  containment: z.strictObject({ mode: z.enum(["alert", "block"]).default("alert") }).prefault({}),
  // The first admin (from the Secret) and a bare ingest token belong to tenant default: without it nobody could log in.
  tenants: z.array(tenantName).min(1).default(["default"])
    .refine((tenants) => tenants.includes("default"), "must include default, the tenant of the first admin and of a bare ingest token")
    .refine((tenants) => new Set(tenants).size === tenants.length, "must not repeat a tenant"),
});

export type DetectorConfig = z.infer<typeof detectorConfigSchema>;
export type DetectionConfig = z.infer<typeof detectionConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Every problem with the config, each naming its key, e.g. `unknown key "detection.bruteForc"`. */
export function describeConfigIssues(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const at = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") return issue.keys.map((k) => `unknown key "${at ? `${at}.` : ""}${k}"`);
    return [`"${at || "(root)"}": ${issue.message}`];
  });
}

/** A copy of `value` without the keys of its `unrecognized_keys` issues; their paths (a.b.c). */
function withoutUnknownKeys(value: unknown, issues: z.core.$ZodIssue[]): { value: unknown; ignored: string[] } {
  const copy = structuredClone(value);
  const ignored: string[] = [];
  for (const issue of issues) {
    if (issue.code !== "unrecognized_keys") continue;
    let at: unknown = copy;
    for (const segment of issue.path) at = (at as Record<PropertyKey, unknown> | undefined)?.[segment];
    for (const key of issue.keys) {
      if (at !== null && typeof at === "object") delete (at as Record<string, unknown>)[key];
      ignored.push([...issue.path.map(String), key].join("."));
    }
  }
  return { value: copy, ignored };
}

/**
 * The config, or a ConfigError naming every problem. In a file the operator wrote (`writtenBy`), keys this detector
 * does not know are left out and passed to `onIgnored` (everything else is checked as strictly).
 */
export function parseDetectorConfig(value: unknown, origin = "config", onIgnored?: (keys: string[]) => void): DetectorConfig {
  let result = detectorConfigSchema.safeParse(value);
  const byOperator = value !== null && typeof value === "object" && (value as { writtenBy?: unknown }).writtenBy === operatorWriter;
  if (!result.success && byOperator && result.error.issues.some((i) => i.code === "unrecognized_keys")) {
    const stripped = withoutUnknownKeys(value, result.error.issues);
    result = detectorConfigSchema.safeParse(stripped.value);
    if (result.success) onIgnored?.(stripped.ignored);
  }
  if (!result.success) throw new ConfigError(`${origin}: ${describeConfigIssues(result.error).join("; ")}`);
  return result.data;
}

export async function loadDetectorConfig(file: string, onIgnored?: (keys: string[]) => void): Promise<DetectorConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${file}: cannot read the config file: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseDetectorConfig(value, file, onIgnored);
}
