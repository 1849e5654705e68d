// Inference: the anomaly model's rows per second through ONNX Runtime (AnomalyScorer, as the detector runs it) at
// batch 1, 64 and 1024, against the same model's arithmetic in plain TypeScript (BaselineScorer, same weights).
import { join } from "node:path";
import { BaselineScorer } from "../detector/ml/baseline.ts";
import { loadHeldoutSample } from "../detector/ml/heldout-sample.ts";
import { AnomalyScorer } from "../detector/ml/scorer.ts";
import { root } from "./support/cluster.ts";
import { progress } from "./support/progress.ts";
import { machine, type Row, type SectionResult } from "./support/results.ts";
import { median, ratio } from "./support/stats.ts";

const batches = [1, 64, 1024];

/** Calls `fn` (which scores `batch` rows) repeatedly for `ms`; returns rows per second. */
async function rowsPerSecond(fn: () => unknown, batch: number, ms: number): Promise<number> {
  let rows = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < ms) {
    await fn();
    rows += batch;
    now = performance.now();
  }
  return rows / ((now - t0) / 1000);
}

export async function runInferenceSection(opts: { quick: boolean }): Promise<SectionResult> {
  const startedAt = new Date().toISOString();
  const m = machine();
  const reps = opts.quick ? 1 : 5;
  const repMs = opts.quick ? 200 : 1000;
  const onnx = await AnomalyScorer.load(join(root, "detector/ml/model.onnx"));
  const plain = await BaselineScorer.load(join(root, "detector/ml/model-metadata.json"));
  // Real feature vectors: the held-out sample train.py wrote, cycled to fill the batch.
  const sample = loadHeldoutSample().map((r) => Float32Array.from(r.features));
  const rowsFor = (n: number) => Array.from({ length: n }, (_, i) => sample[i % sample.length]!);
  const rows: Row[] = [];
  const detail: Record<string, unknown> = { reps, repMs, sampleRows: sample.length };
  try {
    // Both paths must compute the same thing, or the comparison means nothing.
    const check = rowsFor(sample.length);
    const a = await onnx.score(check);
    const b = plain.score(check);
    const maxDiff = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
    detail.maxAbsDifference = maxDiff;
    if (maxDiff > 1e-4) throw new Error(`ONNX and plain TypeScript disagree by ${maxDiff}`);
    for (const [i, batch] of batches.entries()) {
      const input = rowsFor(batch);
      await rowsPerSecond(() => onnx.score(input), batch, 100);
      await rowsPerSecond(() => plain.score(input), batch, 100);
      const o: number[] = [];
      const p: number[] = [];
      for (let r = 0; r < reps; r++) {
        // Alternate which goes first so drift in machine load hits both alike.
        if (r % 2 === 0) {
          o.push(await rowsPerSecond(() => onnx.score(input), batch, repMs));
          p.push(await rowsPerSecond(() => plain.score(input), batch, repMs));
        } else {
          p.push(await rowsPerSecond(() => plain.score(input), batch, repMs));
          o.push(await rowsPerSecond(() => onnx.score(input), batch, repMs));
        }
      }
      detail[`batch${batch}`] = { onnxRowsPerSecond: o, plainRowsPerSecond: p };
      const v = median(o);
      const base = median(p);
      progress("inference", `${i + 1} of ${batches.length}: batch ${batch}: ONNX ${v.toFixed(0)} rows/s, plain TypeScript ${base.toFixed(0)} rows/s`);
      rows.push({ benchmark: "inference", metric: `ONNX rows/s at batch ${batch} (median of ${reps})`, value: v, unit: "rows/s", baseline: base, baselineLabel: "same model in plain TypeScript",
        ratio: ratio(v, base), ...(batch === 1024 ? { target: "> baseline", pass: v > base } : {}) });
    }
  } finally {
    await onnx.close();
  }
  return { section: "inference", startedAt, finishedAt: new Date().toISOString(), quick: opts.quick, machine: m, rows, detail };
}
