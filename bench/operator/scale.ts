// Scale: N MiniXdr objects across M namespaces created at once, until every status is current; API requests per
// reconcile by verb (from the API server's audit log); the operator's peak RSS and heap. Baseline: the same
// instances' rendered objects applied as static manifests, one `kubectl apply --server-side` per namespace, all at once.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient } from "../../operator/kube/client.ts";
import type { AuditLog} from "../support/cluster.ts";
import { countByVerb, ensureNamespace, kubectlUser, miniXdrRef, operatorUser, type Kubectl, type StatusWatch } from "../support/cluster.ts";
import { MemorySampler } from "../support/proc.ts";
import { progress, sleep } from "../support/progress.ts";
import { miniXdr, staticManifestYaml } from "./manifests.ts";
import { reconcileCount, type OperatorProcess } from "./process.ts";

export interface ScaleResult {
  count: number;
  namespaces: number;
  reconciledMs: number;
  reconciledCount: number;
  staticMs: number;
  operatorRequestsByVerb: Record<string, number>;
  staticRequestsByVerb: Record<string, number>;
  reconciles: number;
  idleRssBytes: number;
  idleHeapBytes: number;
  peakRssBytes: number;
  maxSampledRssBytes: number;
  peakHeapBytes: number;
  deploymentsFound: number;
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export async function measureScale(opts: {
  kubectl: Kubectl; admin: KubeClient; watch: StatusWatch; op: OperatorProcess; audit: AuditLog; dir: string;
  count: number; namespaces: number; timeoutMs: number;
}): Promise<ScaleResult> {
  const { kubectl, admin, watch, op, audit, dir, count, namespaces } = opts;
  const nsName = (prefix: string, i: number) => `${prefix}-${String(i).padStart(2, "0")}`;
  const instances = Array.from({ length: count }, (_, i) => ({ ns: nsName("bench-scale", i % namespaces), name: `s-${String(i).padStart(3, "0")}` }));
  progress("operator/scale", `creating ${namespaces * 2} namespaces`);
  for (let i = 0; i < namespaces; i++) {
    await ensureNamespace(admin, nsName("bench-scale", i));
    await ensureNamespace(admin, nsName("bench-scale-static", i));
  }

  // Baseline: static manifests, one kubectl per namespace, all started at once.
  const files: string[] = [];
  for (let i = 0; i < namespaces; i++) {
    const docs: string[] = [];
    for (const inst of instances.filter((x) => x.ns === nsName("bench-scale", i))) docs.push(staticManifestYaml(nsName("bench-scale-static", i), inst.name));
    const file = join(dir, `scale-static-${i}.yaml`);
    writeFileSync(file, docs.join("---\n"));
    files.push(file);
  }
  progress("operator/scale", `baseline: ${namespaces} kubectl apply --server-side at once, ${count} instances' static manifests`);
  let offset = audit.offset;
  let t0 = performance.now();
  await Promise.all(files.map((f) => kubectl.run(["apply", "--server-side", "--field-manager=bench-user", "-f", f])));
  const staticMs = performance.now() - t0;
  await sleep(1000);
  const staticRequestsByVerb = countByVerb(audit.since(offset, kubectlUser));
  progress("operator/scale", `baseline applied in ${(staticMs / 1000).toFixed(1)} s; letting the controller-manager settle`);
  await sleep(5000);

  await op.settle(2000, 120_000);
  const idle = await op.metrics();
  const sampler = new MemorySampler(op.pid, 250);
  const idleRssBytes = sampler.maxRssBytes;
  const idleHeapBytes = idle.get("nodejs_heap_size_used_bytes") ?? Number.NaN;
  let peakHeapBytes = idleHeapBytes;
  const heapTimer = setInterval(() => {
    void op.metrics().then((m) => (peakHeapBytes = Math.max(peakHeapBytes, m.get("nodejs_heap_size_used_bytes") ?? 0)), () => {});
  }, 1000);
  const reconcilesBefore = reconcileCount(idle);

  progress("operator/scale", `creating ${count} MiniXdr objects in ${namespaces} namespaces at once`);
  offset = audit.offset;
  t0 = performance.now();
  const done = Promise.all(instances.map((x) => watch.whenCurrent(x.ns, x.name, 1)));
  await inParallel(instances, 20, async (x) => {
    await admin.apply(miniXdrRef, x.ns, x.name, miniXdr(x.ns, x.name), { manager: "bench-user" });
  });
  progress("operator/scale", `all ${count} created after ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for every status to be current`);
  const ticker = setInterval(() => progress("operator/scale", `${watch.currentCount("bench-scale-")} of ${count} reconciled after ${((performance.now() - t0) / 1000).toFixed(0)} s`), 10_000);
  const finished = await Promise.race([done.then((ts) => Math.max(...ts)), sleep(opts.timeoutMs).then(() => Number.NaN)]);
  clearInterval(ticker);
  const reconciledCount = watch.currentCount("bench-scale-");
  const reconciledMs = Number.isFinite(finished) ? finished - t0 : Number.NaN;
  progress("operator/scale", Number.isFinite(reconciledMs) ? `all ${count} reconciled in ${(reconciledMs / 1000).toFixed(1)} s; waiting for follow-up reconciles to finish`
    : `only ${reconciledCount} of ${count} reconciled within ${opts.timeoutMs / 1000} s`);
  // Follow-up reconciles (Deployment status from the controller-manager) count too; after a cut-off, stop here.
  if (Number.isFinite(reconciledMs)) await op.settle(3000, 30_000).catch(() => progress("operator/scale", "still reconciling 30 s later; counting up to now"));
  clearInterval(heapTimer);
  const after = await op.metrics();
  peakHeapBytes = Math.max(peakHeapBytes, after.get("nodejs_heap_size_used_bytes") ?? 0);
  const mem = sampler.stop();
  const operatorRequestsByVerb = countByVerb(audit.since(offset, operatorUser));
  const list = await admin.call<{ items: { metadata: { namespace: string } }[] }>("list", "deployments", "GET",
    `/apis/apps/v1/deployments?labelSelector=${encodeURIComponent("app.kubernetes.io/managed-by=minixdr-operator")}`);
  return {
    count, namespaces, reconciledMs, reconciledCount, staticMs, operatorRequestsByVerb, staticRequestsByVerb,
    reconciles: reconcileCount(after) - reconcilesBefore,
    idleRssBytes, idleHeapBytes, peakRssBytes: mem.peakRssBytes, maxSampledRssBytes: mem.maxSampledRssBytes, peakHeapBytes,
    deploymentsFound: list.items.filter((d) => d.metadata.namespace.startsWith("bench-scale-") && !d.metadata.namespace.startsWith("bench-scale-static")).length,
  };
}
