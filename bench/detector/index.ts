// The detector section: ingest throughput and latency for Cowrie and generic events in batches of 1, 100 and 1000,
// on SQLite and on PostgreSQL, against the parse-and-validate-only baseline server; peak RSS of each process.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, createWriteStream, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readMiniXdr } from "../../operator/render/manifest.ts";
import { render } from "../../operator/render/render.ts";
import { freePort } from "../../test/controlplane/processes.ts";
import { root } from "../support/cluster.ts";
import { memoryOf } from "../support/proc.ts";
import { progress, waitFor } from "../support/progress.ts";
import { machine, type Row, type SectionResult } from "../support/results.ts";
import { median, p99, ratio } from "../support/stats.ts";
import { body, ingestPath, type EventFormat } from "./events.ts";
import { runLoad, type LoadResult } from "./load.ts";
import { measureStoreFloor, type StoreFloor } from "./storeFloor.ts";

const run = promisify(execFile);
const formats: EventFormat[] = ["cowrie", "generic"];
const batches = [1, 100, 1000];
// Two workers: requests overlap (the server is never idle between them) without long queues on a 2-core machine.
const concurrency = 2;
const maxRequests: Record<number, number> = { 1: 20_000, 100: 1_000, 1000: 100 };
const token = "bench-ingest-token-0123456789abcdef";
const MB = 1024 * 1024;

type Target = "baseline" | "sqlite" | "postgres";

interface Server {
  url: string;
  pid: number;
  /** Resolves once the server has finished with everything it acknowledged (the detector: its detection queue is empty). */
  settled?: () => Promise<void>;
  stop(): Promise<void>;
}

/** Polls the detector's `minixdr_detection_queue_events` until it reads 0. */
function queueDrained(metricsUrl: string): () => Promise<void> {
  return async () => {
    const deadline = performance.now() + 300_000;
    for (;;) {
      const text = await (await fetch(metricsUrl)).text();
      const queued = /^minixdr_detection_queue_events (\d+)$/m.exec(text)?.[1];
      if (queued === undefined) throw new Error(`${metricsUrl} has no minixdr_detection_queue_events`);
      if (queued === "0") return;
      if (performance.now() > deadline) throw new Error(`detection did not drain in 300 s: ${queued} events still queued`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
}

async function startProcess(args: string[], env: NodeJS.ProcessEnv, logFile: string, ready: (out: string) => string | undefined): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(logFile);
  let out = "";
  let exited = false;
  child.once("exit", () => (exited = true));
  child.stdout.on("data", (d: Buffer) => {
    if (out.length < 10_000) out += d.toString();
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const url = await waitFor(`${args.join(" ")} to listen`, () => {
    if (exited) throw new Error(`exited; see ${logFile}`);
    return ready(out);
  }, 60_000, 100);
  return { child, url };
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const done = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await done;
    clearTimeout(t);
  };
}

async function startBaseline(dir: string, nodeArgs: string[]): Promise<Server> {
  const { child, url } = await startProcess([...nodeArgs, join(root, "bench/detector/baseline-server.ts"), "0"], {}, join(dir, "baseline.log"), (out) => /^(http:\S+)$/m.exec(out)?.[1]);
  return { url, pid: child.pid!, stop: stopper(child) };
}

/**
 * The node flags the operator gives the detector by default: the NODE_OPTIONS of the detector Deployment it renders for
 * examples/basic.yaml (a heap sized from the default memory limit), so the benchmark measures what is deployed.
 */
export function deployedDetectorNodeFlags(): string[] {
  const deployment = render(readMiniXdr(readFileSync(join(root, "examples/basic.yaml"), "utf8")))
    .find((c) => c.object.kind === "Deployment" && c.object.metadata.name.endsWith("-detector"))?.object;
  const containers = (deployment?.spec as { template: { spec: { containers: { env?: { name: string; value: string }[] }[] } } } | undefined)?.template.spec.containers;
  const nodeOptions = containers?.[0]?.env?.find((e) => e.name === "NODE_OPTIONS")?.value;
  return nodeOptions ? nodeOptions.split(/\s+/) : [];
}

async function startDetector(dir: string, nodeArgs: string[], driver: "sqlite" | "postgres", databaseUrl?: string): Promise<Server> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const home = join(dir, driver);
  mkdirSync(join(home, "secrets"), { recursive: true });
  const config = { listen: { host: "127.0.0.1", port, metricsPort }, storage: { driver, path: join(home, "minixdr.db") }, model: { path: join(root, "detector/ml/model.onnx") }, tenants: ["default"] };
  writeFileSync(join(home, "detector.json"), JSON.stringify(config));
  writeFileSync(join(home, "secrets/jwt-signing-key"), "bench-jwt-signing-key-0123456789abcdef0123456789");
  writeFileSync(join(home, "secrets/ingest-token"), token);
  if (databaseUrl) writeFileSync(join(home, "secrets/database-url"), databaseUrl);
  const url = `http://127.0.0.1:${port}`;
  // The detector as deployed: `minixdr detector`, configured by its config file and secrets directory, logging at info.
  const { child } = await startProcess([...deployedDetectorNodeFlags(), ...nodeArgs, join(root, "bin/minixdr.ts"), "detector"], { MINIXDR_CONFIG_FILE: join(home, "detector.json"), MINIXDR_SECRETS_DIR: join(home, "secrets") },
    join(dir, `detector-${driver}.log`), () => "started");
  await waitFor(`the ${driver} detector's /readyz`, async () => {
    if (child.exitCode !== null) throw new Error(`detector exited; see ${join(dir, `detector-${driver}.log`)}`);
    return (await fetch(`${url}/readyz`)).status === 200 ? true : undefined;
  }, 60_000, 200);
  return { url, pid: child.pid!, settled: queueDrained(`http://127.0.0.1:${metricsPort}/metrics`), stop: stopper(child) };
}

/** PostgreSQL from test/postgres/start.sh; returns its URL, or throws with the reason it cannot run here. */
async function startPostgres(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = join(root, "test/postgres/start.sh");
  const cluster = join(dir, "postgres");
  chmodSync(dir, 0o755); // the server runs as user postgres when we are root
  try {
    const { stdout } = await run("bash", [script, "start", cluster], { timeout: 5 * 60_000 });
    const url = stdout.trim().split("\n").at(-1) ?? "";
    if (!url.startsWith("postgres://")) throw new Error(`start.sh printed no URL: ${stdout}`);
    return { url, stop: async () => void await run("bash", [script, "stop", cluster], { timeout: 60_000 }).catch(() => undefined) };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error((e.stderr?.trim() || e.message).replace(/^\[postgres\] /gm, ""), { cause: err });
  }
}

interface Cell {
  target: Target;
  format: EventFormat;
  batch: number;
  reps: LoadResult[];
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Median time from the last acknowledgement to an empty detection queue (0 for the baseline). */
  settleMs: number;
  unavailable?: string;
}

async function measureCell(server: Server, target: Target, format: EventFormat, batch: number, reps: number, repMs: number): Promise<Cell> {
  const load = (durationMs: number, max: number) => runLoad({ url: `${server.url}/api/v1/ingest/${ingestPath[format]}`, token, concurrency, batch, maxRequests: max, durationMs, makeBody: () => body(format, batch), ...(server.settled ? { settled: server.settled } : {}) });
  await load(Math.min(300, repMs), batch >= 1000 ? 1 : concurrency * 5); // warm-up: JIT, connections, prepared statements
  const results: LoadResult[] = [];
  for (let r = 0; r < reps; r++) {
    const res = await load(repMs, maxRequests[batch]!);
    if (res.errors > 0) throw new Error(`${target} ${format} batch ${batch}: ${res.errors} failed requests, first: ${res.firstError}`);
    results.push(res);
  }
  const all = results.flatMap((r) => r.latenciesMs);
  return { target, format, batch, reps: results.map((r) => ({ ...r, latenciesMs: [] })), eventsPerSecond: median(results.map((r) => r.eventsPerSecond)), p50Ms: median(all), p99Ms: p99(all),
    settleMs: median(results.map((r) => r.settleSeconds * 1000)) };
}

/** What the bare-row floor says: parsing (the baseline's work) plus storing one row per event reach at most `bound`×. */
function bareRowNote(bound: number): string {
  const verdict = bound < 0.5 ? ": under the 0.5× target, whatever detection costs, for any store of one SQLite row per event" : "";
  return `the event's JSON in a table with no key and no index, one transaction per 1000, no sync; parsing plus storing this way reach at most ${bound.toFixed(2)}× of the baseline on one thread${verdict}`;
}

export async function runDetectorSection(opts: { quick: boolean; nodeArgs?: string[] }): Promise<SectionResult> {
  const nodeArgs = opts.nodeArgs ?? [];
  const startedAt = new Date().toISOString();
  const m = machine();
  const reps = opts.quick ? 1 : 3;
  const repMs = opts.quick ? 300 : 1000;
  const dir = mkdtempSync(join(tmpdir(), "minixdr-bench-detector-"));
  const cells: Cell[] = [];
  const peak: Partial<Record<Target, number>> = {};
  let pgUnavailable = "";
  let postgres: { url: string; stop: () => Promise<void> } | undefined;
  const floors: StoreFloor[] = [];
  try {
    progress("detector", "starting PostgreSQL (test/postgres/start.sh)");
    try {
      postgres = await startPostgres(dir);
    } catch (err) {
      pgUnavailable = `PostgreSQL unavailable: ${(err as Error).message.split("\n")[0]}`;
      progress("detector", pgUnavailable);
    }
    const targets: Target[] = ["baseline", "sqlite", "postgres"];
    const total = targets.length * formats.length * batches.length;
    let n = 0;
    for (const target of targets) {
      if (target === "postgres" && !postgres) {
        for (const format of formats) for (const batch of batches) cells.push({ target, format, batch, reps: [], eventsPerSecond: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN, settleMs: Number.NaN, unavailable: pgUnavailable });
        n += formats.length * batches.length;
        continue;
      }
      progress("detector", `starting the ${target === "baseline" ? "baseline server (parse + validate only)" : `detector on ${target}`}`);
      const server = target === "baseline" ? await startBaseline(dir, nodeArgs) : await startDetector(dir, nodeArgs, target, postgres?.url);
      try {
        for (const format of formats) {
          for (const batch of batches) {
            n++;
            const cell = await measureCell(server, target, format, batch, reps, repMs);
            cells.push(cell);
            progress("detector/ingest", `${n} of ${total}: ${target} ${format} batch ${batch}: ${cell.eventsPerSecond.toFixed(0)} events/s, p50 ${cell.p50Ms.toFixed(1)} ms, p99 ${cell.p99Ms.toFixed(1)} ms`);
          }
        }
        peak[target] = memoryOf(server.pid).peakRssBytes;
      } finally {
        await server.stop();
      }
    }
    for (const format of formats) {
      progress("detector/floor", `${format}: parse + normalize, then SQLite insert, in this process (no HTTP, no detection)`);
      floors.push(await measureStoreFloor(dir, format, 1000, opts.quick ? 10 : 30, reps));
    }
  } finally {
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  const base = (format: EventFormat, batch: number) => cells.find((c) => c.target === "baseline" && c.format === format && c.batch === batch)!;
  for (const target of ["sqlite", "postgres"] as const) {
    for (const format of formats) {
      for (const batch of batches) {
        const c = cells.find((x) => x.target === target && x.format === format && x.batch === batch)!;
        const b = base(format, batch);
        const name = `detector/ingest ${target}`;
        const hasTarget = target === "sqlite" && batch === 1000;
        const note = c.unavailable ?? `${concurrency} concurrent clients, ${c.reps.reduce((s, r) => s + r.requests, 0)} requests; until detected: the queue drained ${c.settleMs.toFixed(0)} ms after the last answer (counted)`;
        rows.push({ benchmark: name, metric: `${format} batch ${batch}: throughput`, value: c.eventsPerSecond, unit: "events/s", baseline: b.eventsPerSecond, baselineLabel: "parse + validate only",
          ratio: ratio(c.eventsPerSecond, b.eventsPerSecond), ...(hasTarget ? { target: "≥ 0.5 × baseline", pass: ratio(c.eventsPerSecond, b.eventsPerSecond) >= 0.5 } : {}), note });
        rows.push({ benchmark: name, metric: `${format} batch ${batch}: p50 latency`, value: c.p50Ms, unit: "ms", baseline: b.p50Ms, baselineLabel: "parse + validate only", ratio: ratio(c.p50Ms, b.p50Ms) });
        rows.push({ benchmark: name, metric: `${format} batch ${batch}: p99 latency`, value: c.p99Ms, unit: "ms", baseline: b.p99Ms, baselineLabel: "parse + validate only", ratio: ratio(c.p99Ms, b.p99Ms) });
      }
    }
  }
  for (const f of floors) {
    const b = base(f.format, 1000);
    rows.push({ benchmark: "detector/floor sqlite", metric: `${f.format} batch 1000: parse + normalize + insert only`, value: f.bothPerSecond, unit: "events/s", baseline: b.eventsPerSecond,
      baselineLabel: "parse + validate only (HTTP)", ratio: ratio(f.bothPerSecond, b.eventsPerSecond),
      note: `in-process, no HTTP and no detection: the most one thread could ingest on SQLite if detection were free (normalize alone ${Math.round(f.normalizePerSecond)} events/s, insert alone ${Math.round(f.insertPerSecond)} events/s)` });
    // Ingest must at least parse and validate each event (the baseline's whole work) and store it: when storing alone is
    // slower than the baseline, the two together are below half its throughput on one thread, whatever detection costs.
    rows.push({ benchmark: "detector/floor sqlite", metric: `${f.format} batch 1000: one bare SQLite row per event, alone`, value: f.bareRowPerSecond, unit: "events/s", baseline: b.eventsPerSecond,
      baselineLabel: "parse + validate only (HTTP)", ratio: ratio(f.bareRowPerSecond, b.eventsPerSecond),
      note: bareRowNote(ratio(1, 1 + b.eventsPerSecond / f.bareRowPerSecond)) });
  }
  for (const target of ["sqlite", "postgres"] as const) {
    const v = (peak[target] ?? Number.NaN) / MB;
    rows.push({ benchmark: "detector/memory", metric: `peak RSS under load (${target})`, value: v, unit: "MB", baseline: (peak.baseline ?? Number.NaN) / MB,
      baselineLabel: "baseline server, same load", ratio: ratio(v, (peak.baseline ?? Number.NaN) / MB),
      note: target === "postgres" && pgUnavailable ? pgUnavailable : `detector run with the deployed heap flags: ${deployedDetectorNodeFlags().join(" ") || "none"}` });
  }
  return { section: "detector", startedAt, finishedAt: new Date().toISOString(), quick: opts.quick, machine: m, rows,
    detail: { concurrency, reps, repMs, maxRequests, cells, floors, peakRssBytes: peak, postgres: pgUnavailable || "ran" } };
}
