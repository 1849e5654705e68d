// bcrypt password hashes at cost 12, computed on a worker thread (passwordWorker.ts) so the event loop keeps serving
// ingest and the API meanwhile. One thread: logins are few, and `LoginGate` bounds how many wait for it. The thread
// (about 35 MB of RSS: its own V8 heap) is stopped after it has been idle a while and started again when needed.
import { Worker } from "node:worker_threads";
import type { PasswordAnswer, PasswordTask } from "./passwordWorker.ts";

export const bcryptCost = 12;

type Task = { op: "hash"; password: string; cost: number } | { op: "compare"; password: string; hash: string };

/** One running thread and the tasks sent to it: when it dies, only its own tasks fail. */
class PasswordThread {
  private readonly worker = new Worker(new URL("./passwordWorker.ts", import.meta.url));
  private readonly pending = new Map<number, { resolve(value: string | boolean): void; reject(err: Error): void }>();
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly onGone: (thread: PasswordThread) => void;

  constructor(onGone: (thread: PasswordThread) => void) {
    this.onGone = onGone;
    this.worker.unref();
    this.worker.on("message", (answer: PasswordAnswer) => {
      const p = this.pending.get(answer.id);
      if (!p) return;
      this.pending.delete(answer.id);
      if ("error" in answer) p.reject(new Error(`bcrypt: ${answer.error}`));
      else p.resolve(answer.value);
      if (this.pending.size === 0) this.idle();
    });
    this.worker.on("error", (err: Error) => this.gone(err));
    this.worker.on("exit", (code) => this.gone(new Error(`the password hashing thread exited (code ${code})`)));
  }

  /** False once the thread has died or is being stopped: a new task needs a new thread. */
  get usable(): boolean {
    return !this.stopped;
  }

  run(task: Task): Promise<string | boolean> {
    clearTimeout(this.idleTimer);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // While a task is pending the thread keeps the process alive, as bcrypt on the main thread did.
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, ...task } satisfies PasswordTask);
    });
  }

  private idle(): void {
    this.worker.unref();
    this.idleTimer = setTimeout(() => {
      if (this.pending.size > 0) return;
      this.stopped = true;
      this.onGone(this);
      void this.worker.terminate();
    }, idleMs).unref();
  }

  private gone(err: Error): void {
    this.stopped = true;
    clearTimeout(this.idleTimer);
    this.onGone(this);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

let thread: PasswordThread | undefined;
/** How long the thread may stay idle before it is stopped (a login after that starts it again, in about 50 ms). */
let idleMs = 10_000;

/** Sets how long the thread may stay idle (tests shorten it). */
export function setPasswordThreadIdleMs(ms: number): void {
  idleMs = ms;
}

/** Whether the password thread is running now. */
export function passwordThreadRunning(): boolean {
  return thread !== undefined;
}

function run(task: Task): Promise<string | boolean> {
  if (!thread?.usable) {
    thread = new PasswordThread((t) => {
      if (thread === t) thread = undefined;
    });
  }
  return thread.run(task);
}

export async function hashPassword(password: string): Promise<string> {
  return String(await run({ op: "hash", password, cost: bcryptCost }));
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  return (await run({ op: "compare", password, hash })) === true;
}

/** Compared against when the user does not exist, so an unknown name takes as long as a wrong password. */
export const absentUserHash = "$2b$12$jMTc6tYzueTDshHNOY028ejFKw.QIp4ARBnYt8KZZ4CPI7t98x0dC";
