// The thread that runs bcrypt for passwordHashing.ts. bcryptjs is plain JavaScript: on the main thread even its async
// form runs 100 ms slices between I/O, so every login stalled ingest and the API for a quarter of a second.
import { parentPort } from "node:worker_threads";
import bcrypt from "bcryptjs";

export type PasswordTask = { id: number; op: "hash"; password: string; cost: number } | { id: number; op: "compare"; password: string; hash: string };
export type PasswordAnswer = { id: number; value: string | boolean } | { id: number; error: string };

parentPort?.on("message", (task: PasswordTask) => {
  try {
    const value = task.op === "hash" ? bcrypt.hashSync(task.password, task.cost) : bcrypt.compareSync(task.password, task.hash);
    parentPort!.postMessage({ id: task.id, value } satisfies PasswordAnswer);
  } catch (err) {
    parentPort!.postMessage({ id: task.id, error: (err as Error).message } satisfies PasswordAnswer);
  }
});
