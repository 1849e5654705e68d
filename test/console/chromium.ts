// Debian's chromium for browser tests: installed with apt-get when missing (idempotent); under CI=true a missing browser fails, locally it skips.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

export const chromiumPath = "/usr/bin/chromium";
/** Flags for a headless browser in a container with no network: no sandbox (root), nothing fetched in the background. */
export const chromiumArgs = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run", "--disable-component-update", "--disable-sync"];

export interface ChromiumOptions {
  path?: string;
  ci?: boolean;
  /** Installs the package; by default apt-get as root, which throws when that cannot work here. */
  install?: () => Promise<void>;
}

/** Empty when `path` is usable; otherwise why browser tests cannot run (they then skip, outside CI only). */
export async function ensureChromium(options: ChromiumOptions = {}): Promise<string> {
  const path = options.path ?? chromiumPath;
  const ci = options.ci ?? process.env.CI === "true";
  if (existsSync(path)) return "";
  let problem: string;
  try {
    await (options.install ?? aptInstallChromium)();
    problem = existsSync(path) ? "" : `chromium was installed but ${path} is still missing`;
  } catch (err) {
    problem = (err as Error).message;
  }
  if (problem === "") return "";
  const message = `browser tests cannot run: ${problem}`;
  if (ci) throw new Error(message);
  console.warn(`${message} (skipped outside CI; install it with: apt-get install chromium)`);
  return message;
}

export async function aptInstallChromium(): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    throw new Error(`${chromiumPath} is missing and cannot be installed here (needs root and apt-get)`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // Wait for dpkg's lock rather than fail: another test (PostgreSQL) may be installing at the same time.
  const install = () => run("apt-get", ["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", "chromium"], { env, timeout: 14 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  console.warn(`[chromium] ${chromiumPath} is missing: installing Debian's chromium (once)`);
  try {
    await install();
  } catch {
    // A fresh machine has no package lists yet: fetch them, then try once more.
    await run("apt-get", ["-o", "DPkg::Lock::Timeout=600", "update", "-qq"], { env, timeout: 5 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    await install();
  }
}
