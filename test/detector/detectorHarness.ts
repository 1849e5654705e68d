// Starts detectors for tests: in-process through startDetector, or as `node detector/main.ts` child processes.
import { spawn, type ChildProcess } from "node:child_process";
import { lstat, mkdtemp, mkdir, readFile, readlink, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { hashPassword } from "../../detector/auth/passwordHashing.ts";
import type { z } from "zod";
import { parseDetectorConfig, type DetectorConfig, type detectorConfigSchema } from "../../detector/config/detectorConfig.ts";
import { loadDetectorSecrets, secretKeys } from "../../detector/config/detectorSecrets.ts";
import { startDetector, type DetectorOptions, type RunningDetector } from "../../detector/detector.ts";
import { freePort } from "../controlplane/processes.ts";

export const repoRoot = join(import.meta.dirname, "../..");
export const modelPath = join(repoRoot, "detector/ml/model.onnx");
export const adminPassword = "Correct-Horse-Battery-9";
export const ingestTokens = { default: "ingest-default-3f9a0c2b7e14d5a6", acme: "ingest-acme-88c1d0e4b2a7f3c9" };
export const jwtSigningKey = "test-signing-key-0123456789abcdef0123456789";

let cachedAdminHash: Promise<string> | undefined;
/** One bcrypt hash per test process: cost 12 takes a while. */
export function adminPasswordHash(): Promise<string> {
  return (cachedAdminHash ??= hashPassword(adminPassword));
}

export interface DetectorFiles {
  dir: string;
  configFile: string;
  secretsDir: string;
  config: DetectorConfig;
  remove(): Promise<void>;
}

/** Writes a config file and a secrets directory the way the operator mounts them. */
export async function writeDetectorFiles(overrides: { storage?: z.input<typeof detectorConfigSchema>["storage"]; databaseUrl?: string; detection?: Record<string, unknown>; containment?: "alert" | "block"; port?: number; metricsPort?: number } = {}): Promise<DetectorFiles> {
  const dir = await mkdtemp(join(tmpdir(), "minixdr-detector-"));
  const secretsDir = join(dir, "secrets");
  await mkdir(secretsDir);
  const raw = {
    component: "detector",
    listen: { host: "127.0.0.1", port: overrides.port ?? 0, metricsPort: overrides.metricsPort ?? 0 },
    storage: overrides.storage ?? { driver: "sqlite", path: join(dir, "data", "minixdr.db") },
    detection: overrides.detection ?? {},
    model: { path: modelPath },
    containment: { mode: overrides.containment ?? "alert" },
    tenants: ["default", "acme"],
  };
  const configFile = join(dir, "detector.json");
  await writeFile(configFile, JSON.stringify(raw, null, 2));
  await writeFile(join(secretsDir, "jwt-signing-key"), jwtSigningKey);
  await writeFile(join(secretsDir, "ingest-token"), `default=${ingestTokens.default}\nacme=${ingestTokens.acme}\n`);
  await writeFile(join(secretsDir, "admin-password-hash"), await adminPasswordHash());
  if (overrides.databaseUrl) await writeFile(join(secretsDir, "database-url"), overrides.databaseUrl);
  return { dir, configFile, secretsDir, config: parseDetectorConfig(raw), remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Changes the secrets directory the way the kubelet updates a mounted Secret (its AtomicWriter): every key is a link
 * to `..data/<key>`, and `..data` is switched at once to a new directory holding the whole new set. `undefined`
 * removes a key. Plain files (as `writeDetectorFiles` leaves them) are taken over at the first call.
 */
export async function rotateSecret(secretsDir: string, changes: Record<string, string | undefined>): Promise<void> {
  const values: Record<string, string> = {};
  for (const key of secretKeys) {
    const current = await readFile(join(secretsDir, key), "utf8").catch(() => undefined);
    const next = key in changes ? changes[key] : current;
    if (next !== undefined) values[key] = next;
  }
  const generation = `..${new Date().toISOString().replace(/[:.]/g, "_")}.${Math.random().toString(36).slice(2, 8)}`;
  await mkdir(join(secretsDir, generation));
  for (const [key, value] of Object.entries(values)) await writeFile(join(secretsDir, generation, key), value);
  const previous = await readlinkOrUndefined(join(secretsDir, "..data"));
  await symlink(generation, join(secretsDir, "..data_tmp"));
  await rename(join(secretsDir, "..data_tmp"), join(secretsDir, "..data"));
  for (const key of secretKeys) {
    const path = join(secretsDir, key);
    const isLink = await lstat(path).then((st) => st.isSymbolicLink(), () => undefined);
    if (isLink === false || (isLink && !(key in values))) await unlink(path);
    if (key in values && isLink !== true) await symlink(join("..data", key), path);
  }
  if (previous) await rm(join(secretsDir, previous), { recursive: true, force: true });
}

function readlinkOrUndefined(path: string): Promise<string | undefined> {
  return readlink(path).catch(() => undefined);
}

export async function startTestDetector(files: DetectorFiles, options: Partial<DetectorOptions> = {}): Promise<RunningDetector> {
  return startDetector({
    config: files.config,
    secrets: await loadDetectorSecrets(files.secretsDir, files.config),
    logger: pino({ level: process.env.MINIXDR_TEST_LOG ?? "silent" }),
    anomalyModel: null,
    ...options,
  });
}

export interface DetectorProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Runs `node detector/main.ts` (the image's entrypoint) with the files' config and secrets on fixed ports. */
export async function spawnDetector(files: DetectorFiles, env: Record<string, string> = {}): Promise<DetectorProcess> {
  const child = spawn(process.execPath, [join(repoRoot, "detector/main.ts")], {
    cwd: repoRoot,
    // No drain after SIGTERM unless a test asks for one: nothing routes to these processes through a Service.
    env: { ...process.env, MINIXDR_CONFIG_FILE: files.configFile, MINIXDR_SECRETS_DIR: files.secretsDir, MINIXDR_LOG_LEVEL: "info", MINIXDR_SHUTDOWN_DRAIN_SECONDS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const scheme = env.MINIXDR_TLS_CERT_FILE ? "https" : "http";
  const url = `${scheme}://127.0.0.1:${files.config.listen.port}`;
  const deadline = Date.now() + 30_000;
  while (!/"msg":"detector listening"/.test(output)) {
    if (child.exitCode !== null) throw new Error(`detector exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`detector did not start within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, output: () => output, exited };
}

/** Config on fixed free ports, for child processes (which cannot report a port 0 back as simply). */
export async function writeDetectorFilesOnFreePorts(overrides: Parameters<typeof writeDetectorFiles>[0] = {}): Promise<DetectorFiles> {
  return writeDetectorFiles({ ...overrides, port: await freePort(), metricsPort: await freePort() });
}

export async function post(url: string, body: string, token?: string, contentType = "application/json"): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

export async function api(url: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

export async function login(baseUrl: string, username: string, password: string, tenant = "default"): Promise<{ status: number; token: string; json: Record<string, unknown> }> {
  const r = await post(`${baseUrl}/api/v1/auth/login`, JSON.stringify({ tenant, username, password }));
  return { status: r.status, token: typeof r.json.token === "string" ? r.json.token : "", json: r.json };
}
