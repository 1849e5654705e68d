import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A child process in its own process group, with a watchdog that kills the group if this process dies. */
export class SupervisedProcess {
  private exited = false;
  private exitCode: number | null = null;
  private readonly watchdog: ChildProcess;
  readonly name: string;
  readonly logFile: string;
  private readonly child: ChildProcess;

  private constructor(name: string, logFile: string, child: ChildProcess) {
    this.name = name;
    this.logFile = logFile;
    this.child = child;
    child.once("exit", (code, signal) => {
      this.exited = true;
      this.exitCode = code ?? (signal ? 128 : null);
    });
    // Covers the one case an exit handler cannot: this process being SIGKILLed. Polls the parent, then kills the group.
    const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; ` +
      `kill -TERM -${child.pid} 2>/dev/null; sleep 3; kill -KILL -${child.pid} 2>/dev/null; exit 0`;
    this.watchdog = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
    this.watchdog.unref();
    live.add(this);
  }

  static start(name: string, binary: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): SupervisedProcess {
    const fd = openSync(logFile, "a");
    try {
      const child = spawn(binary, args, { detached: true, stdio: ["ignore", fd, fd], env });
      if (child.pid === undefined) throw new Error(`${name}: could not start ${binary}`);
      return new SupervisedProcess(name, logFile, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** The last lines of the process log, for error messages. */
  tail(lines = 25): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  describeExit(): string {
    return `${this.name} exited with code ${this.exitCode}; last log lines (${this.logFile}):\n${this.tail()}`;
  }

  /** SIGTERM the group, then SIGKILL after the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    live.delete(this);
    if (!this.exited) {
      signalGroup(this.pid, "SIGTERM");
      const deadline = Date.now() + graceMs;
      while (!this.exited && Date.now() < deadline) await sleep(50);
      if (!this.exited) signalGroup(this.pid, "SIGKILL");
      while (!this.exited) await sleep(20);
    }
    signalGroup(this.watchdog.pid!, "SIGKILL");
  }

  killNow(): void {
    live.delete(this);
    signalGroup(this.pid, "SIGKILL");
    if (this.watchdog.pid) signalGroup(this.watchdog.pid, "SIGKILL");
  }
}

const live = new Set<SupervisedProcess>();
process.once("exit", () => {
  for (const p of [...live]) p.killNow();
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port on loopback that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Poll `probe` until it returns true; fail early if the process dies, with its log tail. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, proc: SupervisedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${what}: ${proc.describeExit()}`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${what}: not healthy within ${timeoutMs / 1000}s (${lastError}); last log lines (${proc.logFile}):\n${proc.tail()}`);
}
