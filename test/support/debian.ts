// Installs a Debian package from the test itself when its command is missing, so `make test` works on a fresh machine.
// It never skips: a tool that cannot be installed fails the test (also, and above all, under CI=true).
import { execFileSync, spawnSync } from "node:child_process";

function which(command: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function aptInstall(pkg: string): { ok: boolean; output: string } {
  // Lock timeout: several test files may install at once.
  const r = spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", pkg], {
    encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 600_000,
  });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** The path of `command`, installing Debian package `pkg` first when it is missing (apt-get update only if needed). */
export function ensureDebianCommand(command: string, pkg: string): string {
  const found = which(command);
  if (found) return found;
  let attempt = aptInstall(pkg);
  if (!attempt.ok) {
    // A fresh machine may have no package lists yet.
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "update"], { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 600_000 });
    attempt = aptInstall(pkg);
  }
  const installed = which(command);
  if (!installed) {
    throw new Error(`${command} is needed and could not be installed with \`apt-get install -y ${pkg}\` (needs root on Debian/Ubuntu):\n${attempt.output.slice(-2000)}`);
  }
  return installed;
}

/** Runs a command and returns its stdout; on failure the error carries stdout and stderr. */
export function runTool(path: string, args: string[], input?: string): string {
  try {
    return execFileSync(path, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${path} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`, { cause: err });
  }
}
