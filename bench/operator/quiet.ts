// Quiet period: nothing changes for a while; count the operator's write requests (audit log) and its CPU seconds.
// Baseline: kube-controller-manager over the same window (a Go controller watching the same cluster).
import type { ControlPlane } from "../../test/controlplane/controlplane.ts";
import { countByVerb, operatorUser, writeVerbs, type AuditLog } from "../support/cluster.ts";
import { cpuSecondsOf, findPids } from "../support/proc.ts";
import { progress, sleep } from "../support/progress.ts";
import type { OperatorProcess } from "./process.ts";

export interface QuietResult {
  seconds: number;
  operatorWrites: { verb: string; resource: string; name: string }[];
  operatorRequestsByVerb: Record<string, number>;
  operatorCpuSeconds: number;
  controllerManagerWrites: number;
  controllerManagerCpuSeconds: number;
}

export async function measureQuiet(opts: { cp: ControlPlane; op: OperatorProcess; audit: AuditLog; durationMs: number }): Promise<QuietResult> {
  const { cp, op, audit, durationMs } = opts;
  await op.settle(5000, 120_000);
  const kcm = findPids(["kube-controller-manager", cp.dir])[0];
  const offset = audit.offset;
  const opCpu0 = cpuSecondsOf(op.pid);
  const kcmCpu0 = kcm ? cpuSecondsOf(kcm) : Number.NaN;
  const t0 = performance.now();
  for (let elapsed = 0; elapsed < durationMs;) {
    const step = Math.min(15_000, durationMs - elapsed);
    await sleep(step);
    elapsed += step;
    progress("operator/quiet", `${(elapsed / 1000).toFixed(0)} of ${(durationMs / 1000).toFixed(0)} s quiet`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const opCpu = cpuSecondsOf(op.pid) - opCpu0;
  const kcmCpu = kcm ? cpuSecondsOf(kcm) - kcmCpu0 : Number.NaN;
  const all = audit.since(offset);
  const ops = all.filter((e) => e.user.username === operatorUser);
  // kube-controller-manager runs with the admin kubeconfig (minixdr-admin); the harness itself writes nothing meanwhile.
  const kcmWrites = all.filter((e) => e.user.username === "minixdr-admin" && writeVerbs.has(e.verb)).length;
  return {
    seconds,
    operatorWrites: ops.filter((e) => writeVerbs.has(e.verb)).map((e) => ({ verb: e.verb, resource: `${e.objectRef?.resource ?? ""}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`, name: `${e.objectRef?.namespace ?? ""}/${e.objectRef?.name ?? ""}` })),
    operatorRequestsByVerb: countByVerb(ops),
    operatorCpuSeconds: opCpu,
    controllerManagerWrites: kcmWrites,
    controllerManagerCpuSeconds: kcmCpu,
  };
}
