// The detector's Secret, mounted as one file per key (docs/contracts.md).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { hashPassword } from "../auth/passwordHashing.ts";
import { ConfigError, tenantNamePattern, type DetectorConfig } from "./detectorConfig.ts";

export interface FirstAdminSecret {
  /** A digest of the Secret value (the plaintext is not kept in the store): a new value re-provisions the admin. */
  source: string;
  /** The bcrypt hash: the Secret's own, or `admin-password` hashed at the first call (not at all for a value applied before). */
  passwordHash(): Promise<string>;
}

export interface DetectorSecrets {
  jwtSigningKey: string;
  /** Ingest token -> tenant. */
  ingestTokens: Map<string, string>;
  /** The first admin's password from the Secret (`admin-password-hash`, or `admin-password`), when it has one. */
  firstAdmin?: FirstAdminSecret;
  databaseUrl?: string;
}

/** Every key the detector reads from its Secret. */
export const secretKeys = ["jwt-signing-key", "ingest-token", "admin-password-hash", "admin-password", "database-url"] as const;

async function readKey(dir: string, key: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, key), "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`secret ${key} in ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** A bare token belongs to tenant "default"; otherwise one `tenant=token` per line. */
export function parseIngestTokens(text: string, tenants: string[]): Map<string, string> {
  const tokens = new Map<string, string>();
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  // A token may itself contain "=" (base64 padding at its end). A lone line is tenant=token when its prefix names a
  // configured tenant, or could name one (a tenant name) with a whole token after it: a line for a tenant removed from
  // the config is refused as such, not taken as tenant default's token "acme=...".
  const prefixOf = (l: string) => (l.includes("=") ? l.slice(0, l.indexOf("=")).trim() : undefined);
  const tenantLine = (l: string) => {
    const prefix = prefixOf(l);
    return prefix !== undefined && (tenants.includes(prefix) || (tenantNamePattern.test(prefix) && l.slice(l.indexOf("=") + 1).trim().length >= 16));
  };
  const bare = lines.length === 1 && !tenantLine(lines[0]!);
  for (const [i, line] of lines.entries()) {
    const [tenant, token] = bare ? ["default", line] : [line.slice(0, line.indexOf("=")).trim(), line.slice(line.indexOf("=") + 1).trim()];
    if (!bare && !line.includes("=")) throw new ConfigError(`secret ingest-token line ${i + 1}: expected tenant=token`);
    if (token.length < 16) throw new ConfigError(`secret ingest-token line ${i + 1} (tenant ${tenant}): token must be at least 16 characters`);
    if (!tenants.includes(tenant)) throw new ConfigError(`secret ingest-token line ${i + 1}: tenant "${tenant}" is not in the config's tenants (${tenants.join(", ")})`);
    if (tokens.has(token)) throw new ConfigError(`secret ingest-token line ${i + 1}: the same token is given to two tenants`);
    tokens.set(token, tenant);
  }
  if (tokens.size === 0) throw new ConfigError("secret ingest-token: no token");
  return tokens;
}

export async function loadDetectorSecrets(dir: string, config: DetectorConfig): Promise<DetectorSecrets> {
  const jwtSigningKey = await readKey(dir, "jwt-signing-key");
  if (!jwtSigningKey) throw new ConfigError(`secret jwt-signing-key: missing in ${dir}`);
  if (Buffer.byteLength(jwtSigningKey) < 32) throw new ConfigError("secret jwt-signing-key: must be at least 32 bytes");
  const ingest = await readKey(dir, "ingest-token");
  if (!ingest) throw new ConfigError(`secret ingest-token: missing in ${dir}`);
  const adminPasswordHash = await readKey(dir, "admin-password-hash");
  if (adminPasswordHash !== undefined && !/^\$2[aby]\$\d{2}\$.{53}$/.test(adminPasswordHash)) {
    throw new ConfigError("secret admin-password-hash: not a bcrypt hash");
  }
  // A Secret the operator generated carries the first admin's password rather than its hash: hashed when needed.
  const adminPassword = adminPasswordHash === undefined ? await readKey(dir, "admin-password") : undefined;
  const digest = (value: string) => createHash("sha256").update(value).digest("hex");
  let hashed: Promise<string> | undefined;
  const firstAdmin: FirstAdminSecret | undefined = adminPasswordHash !== undefined
    ? { source: digest(`hash:${adminPasswordHash}`), passwordHash: () => Promise.resolve(adminPasswordHash) }
    : adminPassword !== undefined ? { source: digest(`password:${adminPassword}`), passwordHash: () => (hashed ??= hashPassword(adminPassword)) } : undefined;
  const databaseUrl = await readKey(dir, "database-url");
  if (config.storage.driver === "postgres" && !databaseUrl) throw new ConfigError(`secret database-url: required when storage.driver is postgres (missing in ${dir})`);
  return { jwtSigningKey, ingestTokens: parseIngestTokens(ingest, config.tenants), ...(firstAdmin ? { firstAdmin } : {}), databaseUrl };
}
