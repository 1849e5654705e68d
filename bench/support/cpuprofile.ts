// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function, heaviest first, for a one-line finding.
import { readFileSync } from "node:fs";
import { relative } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  selfMs: number;
  share: number;
}

export function hotFunctions(file: string, top = 8, rootDir = process.cwd()): HotFunction[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i] ?? 0));
  const byName = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === "(idle)") continue;
    total += us;
    const where = f.url ? `${relative(rootDir, f.url.replace(/^file:\/\//, ""))}:${f.lineNumber + 1}` : "";
    const name = `${f.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    byName.set(name, (byName.get(name) ?? 0) + us);
  }
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, selfMs: us / 1000, share: total ? us / total : 0 }));
}

/** `node bench/support/cpuprofile.ts FILE...`: the heaviest functions of each profile. */
if (import.meta.main) {
  for (const file of process.argv.slice(2)) {
    console.log(file);
    for (const h of hotFunctions(file, 12)) console.log(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.selfMs.toFixed(0).padStart(7)} ms  ${h.name}`);
  }
}
