// The operator as users run it (`node <flags> bin/minixdr.ts operator`, with the node flags of the operator's Deployment
// in config/manager), in a process of its own so its memory and CPU are its own; its /metrics is scraped for the heap,
// the work queue and reconcile counts.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { freePort } from "../../test/controlplane/processes.ts";
import { root } from "../support/cluster.ts";
import { sleep, waitFor } from "../support/progress.ts";

export interface OperatorProcess {
  pid: number;
  metricsUrl: string;
  logFile: string;
  metrics(): Promise<Map<string, number>>;
  /** Waits until the work queue is empty and no reconcile finished for `quietMs`. */
  settle(quietMs: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Parses Prometheus text into "name{labels}" → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

export function reconcileCount(m: Map<string, number>): number {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith("minixdr_reconcile_total{")) n += v;
  return n;
}

/** The node flags the deployed operator runs with: its container's command is `node <flags> bin/minixdr.ts`. */
export function deployedNodeFlags(): string[] {
  const deployment = parse(readFileSync(join(root, "config/manager/deployment.yaml"), "utf8")) as
    { spec: { template: { spec: { containers: { name: string; command?: string[] }[] } } } };
  const command = deployment.spec.template.spec.containers.find((c) => c.name === "operator")?.command ?? ["node", "bin/minixdr.ts"];
  if (command[0] !== "node" || command.at(-1) !== "bin/minixdr.ts") throw new Error(`config/manager/deployment.yaml: the operator's command ${JSON.stringify(command)} is not node [flags] bin/minixdr.ts`);
  return command.slice(1, -1);
}

export async function startOperatorProcess(opts: { kubeconfig: string; dir: string; name: string; extraArgs?: string[]; nodeArgs?: string[] }): Promise<OperatorProcess> {
  const port = await freePort();
  const logFile = join(opts.dir, `${opts.name}.log`);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, [...deployedNodeFlags(), ...(opts.nodeArgs ?? []), join(root, "bin/minixdr.ts"), "operator", "--metrics-port", String(port), "--bind-address", "127.0.0.1",
    "--log-level", "warn", ...(opts.extraArgs ?? [])], { env: { ...process.env, KUBECONFIG: opts.kubeconfig }, stdio: ["ignore", "pipe", "pipe"], cwd: root });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exited = false;
  child.once("exit", () => (exited = true));
  child.once("error", (err) => {
    exited = true;
    log.write(`could not start: ${err.message}\n`);
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor("the operator's /readyz", async () => {
    if (exited) throw new Error(`operator exited; see ${logFile}`);
    return (await fetch(`${url}/readyz`)).status === 200 ? true : undefined;
  }, 60_000, 200);
  const metrics = async () => parseMetrics(await (await fetch(`${url}/metrics`)).text());
  return {
    pid: child.pid!,
    metricsUrl: `${url}/metrics`,
    logFile,
    metrics,
    async settle(quietMs, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = -1;
      let since = Date.now();
      while (Date.now() < deadline) {
        const m = await metrics();
        const n = reconcileCount(m);
        if (n !== last || (m.get("minixdr_workqueue_depth") ?? 0) > 0) {
          last = n;
          since = Date.now();
        } else if (Date.now() - since >= quietMs) return;
        await sleep(250);
      }
      throw new Error(`the operator did not settle within ${timeoutMs} ms`);
    },
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await done;
      clearTimeout(timer);
      log.end();
    },
  };
}
