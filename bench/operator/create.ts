// Create latency: `kubectl apply --server-side` of one MiniXdr until every child exists and status.observedGeneration
// is current, against `kubectl apply --server-side` of the same rendered objects as static manifests.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { childKindOf } from "../../operator/render/child-kinds.ts";
import type { KubeClient } from "../../operator/kube/client.ts";
import type { Kubectl, StatusWatch } from "../support/cluster.ts";
import { progress, sleep } from "../support/progress.ts";
import { childrenOf, miniXdrYaml, staticManifestYaml } from "./manifests.ts";

export interface CreateSamples {
  operatorMs: number[];
  staticMs: number[];
}

export const createNamespace = "bench-create";
export const staticNamespace = "bench-static";

async function assertChildren(admin: KubeClient, namespace: string, name: string): Promise<void> {
  for (const c of childrenOf(namespace, name)) await admin.get(childKindOf(c.kind), namespace, c.name);
}

async function operatorRun(kubectl: Kubectl, watch: StatusWatch, admin: KubeClient, dir: string, name: string): Promise<number> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, miniXdrYaml(createNamespace, name));
  const t0 = performance.now();
  await kubectl.run(["apply", "--server-side", "--field-manager=bench-user", "-f", file]);
  const current = await Promise.race([watch.whenCurrent(createNamespace, name, 1), sleep(60_000).then(() => Number.NaN)]);
  if (!Number.isFinite(current)) throw new Error(`MiniXdr ${createNamespace}/${name}: status not current within 60 s`);
  // The reconciler writes status after applying every child, so they exist by now; check rather than assume.
  await assertChildren(admin, createNamespace, name);
  return current - t0;
}

async function staticRun(kubectl: Kubectl, dir: string, name: string): Promise<number> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, staticManifestYaml(staticNamespace, name));
  return kubectl.run(["apply", "--server-side", "--field-manager=bench-user", "-f", file]);
}

/** `runs` measured pairs (operator and baseline alternate which goes first), after one warm-up pair. */
export async function measureCreate(opts: { kubectl: Kubectl; watch: StatusWatch; admin: KubeClient; dir: string; runs: number }): Promise<CreateSamples> {
  const { kubectl, watch, admin, dir, runs } = opts;
  progress("operator/create", "warm-up (kubectl discovery cache, operator JIT)");
  await operatorRun(kubectl, watch, admin, dir, "warmup");
  await staticRun(kubectl, dir, "warmup");
  const samples: CreateSamples = { operatorMs: [], staticMs: [] };
  for (let i = 0; i < runs; i++) {
    const name = `c-${String(i).padStart(2, "0")}`;
    const first = i % 2 === 0 ? "operator" : "static";
    for (const which of first === "operator" ? ["operator", "static"] : ["static", "operator"]) {
      if (which === "operator") samples.operatorMs.push(await operatorRun(kubectl, watch, admin, dir, name));
      else samples.staticMs.push(await staticRun(kubectl, dir, name));
      await sleep(150);
    }
    if ((i + 1) % 5 === 0 || i === runs - 1) {
      progress("operator/create", `${i + 1} of ${runs} runs (last: operator ${samples.operatorMs.at(-1)!.toFixed(0)} ms, static ${samples.staticMs.at(-1)!.toFixed(0)} ms)`);
    }
  }
  return samples;
}
