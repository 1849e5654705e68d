// Detection under sustained load, in one process: the detector (SQLite, the ONNX model on) and the load generator
// share it, as the findings' "sustained-load collapse" was measured. Generic (or Cowrie) batches of 1000 from 500 sources,
// 4 clients, repetitions of a few seconds back to back, each counted until the detection queue is empty; prints
// events/s and RSS per repetition (progress on stderr, a JSON summary on stdout).
//
//   node bench/detector/sustained.ts [--reps 6] [--seconds 3] [--clients 4] [--batch 1000] [--time-scale 1] [--format generic|cowrie] [--no-model]
//     [--memory-limit MIB] [--profile DIR]
//
// --time-scale N: event time runs N times as fast as the clock from the start (events up to hours ahead: ingest takes
// up to 24 h), so a run of a minute spans the rules' windows of 5 to 10 minutes, as a load sustained that long does,
// with N times fewer events in each window.
// --memory-limit MIB: run as under a container memory limit of MIB MiB: the node flags the operator renders for it,
// and process.constrainedMemory() answering it (the detector sizes its SQLite caches from both), instead of the
// default limit's flags and this machine's memory.
// --profile DIR: a CPU profile of each repetition, DIR/rep-N.cpuprofile (summarise with bench/support/cpuprofile.ts).
// Each repetition also reports the events detection read back from the file per event ingested (what the event
// cache did not hold: minixdr_detection_window_events_total{from="store"}).
//
// The process re-runs itself with the detector Deployment's default node flags (NODE_OPTIONS rendered for
// examples/basic.yaml: a heap sized from the 768Mi limit) unless MINIXDR_BENCH_FLAGS_SET is set.
import { spawnSync } from "node:child_process";
import { Session } from "node:inspector/promises";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseDetectorConfig } from "../../detector/config/detectorConfig.ts";
import { loadDetectorSecrets } from "../../detector/config/detectorSecrets.ts";
import { startDetector } from "../../detector/detector.ts";
import { freePort } from "../../test/controlplane/processes.ts";
import { root } from "../support/cluster.ts";
import { memoryOf } from "../support/proc.ts";
import { progress } from "../support/progress.ts";
import { median } from "../support/stats.ts";
import { body, ingestPath, type EventFormat } from "./events.ts";
import { detectorNodeOptions } from "../../operator/render/deployments.ts";
import { deployedDetectorNodeFlags } from "./index.ts";
import { runLoad } from "./load.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} takes a positive number`);
  return v;
}

const memoryLimitMiB = process.argv.includes("--memory-limit") ? arg("memory-limit", 768) : undefined;
if (!process.env.MINIXDR_BENCH_FLAGS_SET) {
  const flags = memoryLimitMiB ? (detectorNodeOptions(`${memoryLimitMiB}Mi`) ?? "").split(" ") : deployedDetectorNodeFlags();
  progress("sustained", `re-running with the detector's deployed node flags: ${flags.join(" ") || "none"}`);
  const r = spawnSync(process.execPath, [...flags, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, MINIXDR_BENCH_FLAGS_SET: "1" } });
  process.exit(r.status ?? 1);
}

if (memoryLimitMiB) process.constrainedMemory = () => memoryLimitMiB * 1024 * 1024;
const reps = arg("reps", 6);
const seconds = arg("seconds", 3);
const clients = arg("clients", 4);
const batch = arg("batch", 1000);
const timeScale = arg("time-scale", 1);
const model = !process.argv.includes("--no-model");
const format: EventFormat = process.argv.includes("cowrie") ? "cowrie" : "generic";
const profileIndex = process.argv.indexOf("--profile");
const profileDir = profileIndex >= 0 ? process.argv[profileIndex + 1] : undefined;
if (profileIndex >= 0 && !profileDir) throw new Error("--profile takes a directory");
const token = "bench-ingest-token-0123456789abcdef";
const MB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), "minixdr-bench-sustained-"));
mkdirSync(join(dir, "secrets"));
writeFileSync(join(dir, "secrets/jwt-signing-key"), "bench-jwt-signing-key-0123456789abcdef0123456789");
writeFileSync(join(dir, "secrets/ingest-token"), token);
const config = parseDetectorConfig({
  listen: { host: "127.0.0.1", port: await freePort(), metricsPort: await freePort() },
  storage: { driver: "sqlite", path: join(dir, "minixdr.db") },
  model: { path: join(root, "detector/ml/model.onnx") },
  tenants: ["default"],
});
const detector = await startDetector({
  config, secrets: await loadDetectorSecrets(join(dir, "secrets"), config), logger: pino({ level: process.env.MINIXDR_LOG_LEVEL ?? "warn" }),
  ...(model ? {} : { anomalyModel: null }),
});

/** Until the detector's queue is empty (every acknowledged event detected). */
async function drained(): Promise<void> {
  for (;;) {
    if (await detector.repository.countQueued() === 0) return;
    // countQueued counts the queue's rows: every 10 ms it took 4% of the run's CPU.
    await new Promise((r) => setTimeout(r, 50));
  }
}

const t0 = Date.now();
const results: { rep: number; eventsPerSecond: number; cpuMsPer1000: number; storeReadsPerEvent: number; seconds: number; settleSeconds: number; rssMB: number; peakRssMB: number; heapUsedMB: number }[] = [];
try {
  progress("sustained", `SQLite, model ${model ? "on" : "off"}, ${format} batches of ${batch}, ${clients} clients, ${reps} repetitions of ${seconds} s${timeScale === 1 ? "" : `, event time ${timeScale}x the clock`}${memoryLimitMiB ? `, as under a ${memoryLimitMiB}Mi limit` : ""}; RSS ${(memoryOf(process.pid).rssBytes / MB).toFixed(0)} MB`);
  const inspector = profileDir ? new Session() : undefined;
  if (inspector && profileDir) {
    mkdirSync(profileDir, { recursive: true });
    inspector.connect();
    await inspector.post("Profiler.enable");
  }
  for (let rep = 1; rep <= reps; rep++) {
    if (inspector) await inspector.post("Profiler.start");
    const cpu = process.cpuUsage();
    const windowsBefore = detector.repository.windowEventsRead();
    const r = await runLoad({ url: `${detector.url}/api/v1/ingest/${ingestPath[format]}`, token, concurrency: clients, batch, maxRequests: Number.MAX_SAFE_INTEGER, durationMs: seconds * 1000,
      makeBody: () => body(format, batch, t0 + timeScale * (Date.now() - t0)), settled: drained });
    if (r.errors > 0) throw new Error(`${r.errors} failed requests, first: ${r.firstError}`);
    const mem = memoryOf(process.pid);
    const used = process.cpuUsage(cpu);
    if (inspector && profileDir) writeFileSync(join(profileDir, `rep-${rep}.cpuprofile`), JSON.stringify((await inspector.post("Profiler.stop")).profile));
    // CPU per event (ingest and detection, and the load generator's share): steadier than events/s on a busy machine.
    const cpuMsPer1000 = (used.user + used.system) / 1000 / (r.events / 1000);
    // Events the detection windows read back from the file per event ingested (minixdr_detection_window_events_total{from="store"}).
    const storeReadsPerEvent = (detector.repository.windowEventsRead().store - windowsBefore.store) / r.events;
    const row = { rep, eventsPerSecond: Math.round(r.eventsPerSecond), cpuMsPer1000, storeReadsPerEvent, seconds: r.seconds, settleSeconds: r.settleSeconds, rssMB: mem.rssBytes / MB, peakRssMB: mem.peakRssBytes / MB, heapUsedMB: process.memoryUsage().heapUsed / MB };
    results.push(row);
    progress("sustained", `${rep} of ${reps}${timeScale === 1 ? "" : ` (event time +${((Date.now() - t0) * timeScale / 60_000).toFixed(1)} min)`}: ${row.eventsPerSecond} events/s, ${cpuMsPer1000.toFixed(0)} CPU ms per 1000, ${storeReadsPerEvent.toFixed(1)} events read back from the file per event (${r.events} events in ${r.seconds.toFixed(1)} s, queue drained ${r.settleSeconds.toFixed(1)} s after the last answer), RSS ${row.rssMB.toFixed(0)} MB (peak ${row.peakRssMB.toFixed(0)}), heap used ${row.heapUsedMB.toFixed(0)} MB`);
  }
} finally {
  await detector.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ reps: results, medianEventsPerSecond: median(results.map((r) => r.eventsPerSecond)), lastEventsPerSecond: results.at(-1)?.eventsPerSecond, peakRssMB: Math.max(...results.map((r) => r.peakRssMB)) }));
