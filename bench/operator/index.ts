// The operator section: one embedded control plane; the operator as its own process (RBAC-bound ServiceAccount).
// Process 1: create latency, then drift repair. Process 2 (fresh, --resync-seconds=60): the quiet period, then scale.
// Scale goes last and is cut off at 120 s (twice its target) so the whole run stays bounded even when it misses.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminClient, AuditLog, ensureNamespace, kubeConfigFrom, kubectlFor, startControlPlane, StatusWatch, writeOperatorKubeconfig } from "../support/cluster.ts";
import { progress } from "../support/progress.ts";
import { machine, type Row, type SectionResult } from "../support/results.ts";
import { median, p95, ratio, sum } from "../support/stats.ts";
import { createNamespace, measureCreate, staticNamespace } from "./create.ts";
import { measureDrift } from "./drift.ts";
import { startOperatorProcess } from "./process.ts";
import { measureQuiet } from "./quiet.ts";
import { measureScale } from "./scale.ts";

export interface OperatorBenchOptions {
  quick: boolean;
  /** Extra node flags for the operator processes (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

const MB = 1024 * 1024;
const scaleLimitMs = 120_000;

export async function runOperatorSection(opts: OperatorBenchOptions): Promise<SectionResult> {
  const startedAt = new Date().toISOString();
  const m = machine();
  const p = opts.quick
    ? { createRuns: 5, driftRuns: 5, scaleCount: 20, scaleNamespaces: 4, quietMs: 15_000 }
    : { createRuns: 30, driftRuns: 20, scaleCount: 200, scaleNamespaces: 20, quietMs: 120_000 };
  const dir = mkdtempSync(join(tmpdir(), "minixdr-bench-operator-"));
  progress("operator", "starting the embedded control plane");
  const cp = await startControlPlane((line) => progress("control-plane", line));
  const stops: (() => Promise<void> | void)[] = [];
  try {
    const adminKc = kubeConfigFrom(cp.kubeconfigPath);
    const admin = adminClient(cp);
    const audit = new AuditLog(cp.auditLogPath());
    const operatorKubeconfig = await writeOperatorKubeconfig(cp, dir);
    await ensureNamespace(admin, createNamespace);
    await ensureNamespace(admin, staticNamespace);
    const kubectl = await kubectlFor(cp, join(dir, "kubectl-cache"));
    const watch = await StatusWatch.start(adminKc);
    stops.push(() => watch.stop());

    progress("operator", "starting operator process 1 (create latency, drift repair)");
    const op1 = await startOperatorProcess({ kubeconfig: operatorKubeconfig, dir, name: "operator-1", nodeArgs: opts.nodeArgs ?? [] });
    stops.push(() => op1.stop());
    const create = await measureCreate({ kubectl, watch, admin, dir, runs: p.createRuns });
    progress("operator/drift", `${p.driftRuns} hand edits of a detector Deployment's image`);
    const drift = await measureDrift({ kc: adminKc, admin, namespace: createNamespace,
      names: Array.from({ length: p.driftRuns }, (_, i) => `c-${String(i % p.createRuns).padStart(2, "0")}`) });
    await op1.stop();

    progress("operator", "starting operator process 2 (quiet period, scale), --resync-seconds=60 so the quiet period holds two resync passes");
    const op2 = await startOperatorProcess({ kubeconfig: operatorKubeconfig, dir, name: "operator-2", extraArgs: ["--resync-seconds", "60"], nodeArgs: opts.nodeArgs ?? [] });
    stops.push(() => op2.stop());
    progress("operator/quiet", `${p.quietMs / 1000} s with nothing changing (${p.createRuns + 1} MiniXdr objects and their children exist)`);
    const quiet = await measureQuiet({ cp, op: op2, audit, durationMs: p.quietMs });
    const scale = await measureScale({ kubectl, admin, watch, op: op2, audit, dir, count: p.scaleCount, namespaces: p.scaleNamespaces, timeoutMs: scaleLimitMs });
    await op2.stop();

    const rows: Row[] = [];
    const createP50 = median(create.operatorMs);
    const staticP50 = median(create.staticMs);
    const baselineLabel = "kubectl apply --server-side of the rendered objects";
    rows.push({ benchmark: "operator/create", metric: `p50 apply → children + status current (n=${create.operatorMs.length})`, value: createP50, unit: "ms",
      baseline: staticP50, baselineLabel, ratio: ratio(createP50, staticP50), target: "p50 ≤ baseline", pass: createP50 <= staticP50 });
    rows.push({ benchmark: "operator/create", metric: `p95 (n=${create.operatorMs.length})`, value: p95(create.operatorMs), unit: "ms",
      baseline: p95(create.staticMs), baselineLabel, ratio: ratio(p95(create.operatorMs), p95(create.staticMs)) });

    const scaleS = scale.reconciledMs / 1000;
    rows.push({ benchmark: "operator/scale", metric: `${scale.count} MiniXdr in ${scale.namespaces} namespaces: all reconciled`, value: scaleS, unit: "s",
      baseline: scale.staticMs / 1000, baselineLabel: `${scale.namespaces} × kubectl apply of static manifests at once`, ratio: ratio(scaleS, scale.staticMs / 1000),
      target: "≤ 60 s", pass: Number.isFinite(scaleS) && scaleS <= 60,
      note: Number.isFinite(scaleS) ? `${scale.deploymentsFound}/${scale.count} detector Deployments present` : `${scale.reconciledCount}/${scale.count} reconciled when cut off at ${scaleLimitMs / 1000} s; requests and reconciles counted up to then` });
    const elapsedS = Number.isFinite(scaleS) ? scaleS : scaleLimitMs / 1000;
    rows.push({ benchmark: "operator/scale", metric: "instances reconciled per second", value: scale.reconciledCount / elapsedS, unit: "/s",
      baseline: scale.count / (scale.staticMs / 1000), baselineLabel: "static instances applied per second", ratio: ratio(scale.reconciledCount / elapsedS, scale.count / (scale.staticMs / 1000)) });
    const opTotal = sum(Object.values(scale.operatorRequestsByVerb));
    const staticTotal = sum(Object.values(scale.staticRequestsByVerb));
    rows.push({ benchmark: "operator/scale", metric: "API requests per MiniXdr, all verbs", value: opTotal / scale.count, unit: "req",
      baseline: staticTotal / scale.count, baselineLabel: "kubectl requests per static instance", ratio: ratio(opTotal / scale.count, staticTotal / scale.count),
      note: `${scale.reconciles} reconciles for ${scale.count} objects (${(scale.reconciles / scale.count).toFixed(2)} per object)` });
    const verbs = [...new Set([...Object.keys(scale.operatorRequestsByVerb), ...Object.keys(scale.staticRequestsByVerb)])].sort();
    for (const verb of verbs) {
      const v = (scale.operatorRequestsByVerb[verb] ?? 0) / Math.max(1, scale.reconciles);
      const b = (scale.staticRequestsByVerb[verb] ?? 0) / scale.count;
      rows.push({ benchmark: "operator/scale", metric: `API requests per reconcile: ${verb}`, value: v, unit: "req", baseline: b, baselineLabel: "kubectl, per static instance", ratio: ratio(v, b) });
    }
    rows.push({ benchmark: "operator/scale", metric: "operator peak RSS (VmHWM)", value: scale.peakRssBytes / MB, unit: "MB",
      baseline: scale.idleRssBytes / MB, baselineLabel: "same process idle before the scale", ratio: ratio(scale.peakRssBytes, scale.idleRssBytes),
      target: "< 150 MB", pass: scale.peakRssBytes / MB < 150 });
    rows.push({ benchmark: "operator/scale", metric: "operator peak heap used (1 s samples)", value: scale.peakHeapBytes / MB, unit: "MB",
      baseline: scale.idleHeapBytes / MB, baselineLabel: "idle before the scale", ratio: ratio(scale.peakHeapBytes, scale.idleHeapBytes) });

    rows.push({ benchmark: "operator/quiet", metric: `write requests by the operator in ${quiet.seconds.toFixed(0)} s`, value: quiet.operatorWrites.length, unit: "req",
      baseline: quiet.controllerManagerWrites, baselineLabel: "kube-controller-manager, same window", ratio: ratio(quiet.operatorWrites.length, quiet.controllerManagerWrites),
      target: "0", pass: quiet.operatorWrites.length === 0,
      note: quiet.operatorWrites.length ? quiet.operatorWrites.slice(0, 3).map((w) => `${w.verb} ${w.resource} ${w.name}`).join("; ") : `${p.quietMs >= 120_000 ? "two resync passes" : "no resync pass"} in the window` });
    rows.push({ benchmark: "operator/quiet", metric: `CPU seconds used in ${quiet.seconds.toFixed(0)} s`, value: quiet.operatorCpuSeconds, unit: "CPU s",
      baseline: quiet.controllerManagerCpuSeconds, baselineLabel: "kube-controller-manager, same window", ratio: ratio(quiet.operatorCpuSeconds, quiet.controllerManagerCpuSeconds) });

    const driftP50 = median(drift.restoredMs);
    rows.push({ benchmark: "operator/drift", metric: `p50 hand edit → restored (n=${drift.restoredMs.length})`, value: driftP50, unit: "ms",
      baseline: median(drift.notifiedMs), baselineLabel: "edit → seen by a plain watch", ratio: ratio(driftP50, median(drift.notifiedMs)),
      target: "p50 < 1000 ms", pass: driftP50 < 1000 });
    rows.push({ benchmark: "operator/drift", metric: "p95 hand edit → restored", value: p95(drift.restoredMs), unit: "ms",
      baseline: p95(drift.notifiedMs), baselineLabel: "edit → seen by a plain watch", ratio: ratio(p95(drift.restoredMs), p95(drift.notifiedMs)) });

    return { section: "operator", startedAt, finishedAt: new Date().toISOString(), quick: opts.quick, machine: m, rows,
      detail: { controlPlane: cp.version, create, drift, scale, quiet } };
  } finally {
    for (const stop of stops.reverse()) await stop();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
