// bcrypt password hashes at cost 12, computed on a worker thread (passwordWorker.ts) so the event loop keeps serving
// ingest and the API meanwhile. One thread: logins are few, and `LoginGate` bounds how many wait for it.
import { Worker } from "node:worker_threads";
import type { PasswordAnswer, PasswordTask } from "./passwordWorker.ts";

export const bcryptCost = 12;

type Pending = { resolve(value: string | boolean): void; reject(err: Error): void };
type Task = { op: "hash"; password: string; cost: number } | { op: "compare"; password: string; hash: string };

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err);
  pending.clear();
}

/** The worker, started on first use; it does not keep the process alive, and a new one replaces one that died. */
function passwordWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL("./passwordWorker.ts", import.meta.url));
  w.unref();
  w.on("message", (answer: PasswordAnswer) => {
    const p = pending.get(answer.id);
    if (!p) return;
    pending.delete(answer.id);
    if ("error" in answer) p.reject(new Error(`bcrypt: ${answer.error}`));
    else p.resolve(answer.value);
  });
  const gone = (err: Error) => {
    if (worker === w) worker = undefined;
    failAll(err);
  };
  w.on("error", (err: Error) => gone(err));
  w.on("exit", (code) => gone(new Error(`the password hashing thread exited (code ${code})`)));
  worker = w;
  return w;
}

function run(task: Task): Promise<string | boolean> {
  const id = ++nextId;
  const w = passwordWorker();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    // While a check is pending the thread keeps the process alive, as the main-thread bcrypt did.
    if (pending.size === 1) w.ref();
    w.postMessage({ id, ...task } satisfies PasswordTask);
  }).finally(() => {
    if (pending.size === 0 && worker === w) w.unref();
  }) as Promise<string | boolean>;
}

export async function hashPassword(password: string): Promise<string> {
  return String(await run({ op: "hash", password, cost: bcryptCost }));
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  return (await run({ op: "compare", password, hash })) === true;
}

/** Compared against when the user does not exist, so an unknown name takes as long as a wrong password. */
export const absentUserHash = "$2b$12$jMTc6tYzueTDshHNOY028ejFKw.QIp4ARBnYt8KZZ4CPI7t98x0dC";
