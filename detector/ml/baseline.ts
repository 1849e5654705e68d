import { readFile } from "node:fs/promises";
import { z } from "zod";
import { FEATURE_NAMES } from "./features.ts";

const layerSchema = z.object({
  weights: z.array(z.array(z.number())),
  bias: z.array(z.number()),
  activation: z.enum(["relu", "logistic"]),
});

const metadataSchema = z.object({
  version: z.string(),
  featureNames: z.array(z.string()),
  model: z.object({ scalerMean: z.array(z.number()), scalerScale: z.array(z.number()), layers: z.array(layerSchema).min(1) }),
});

type Layer = z.infer<typeof layerSchema>;

/**
 * The committed model's arithmetic in plain TypeScript, from the weights in model-metadata.json: the
 * reference the ONNX Runtime path is benchmarked and tested against (they agree to 1e-5).
 */
export class BaselineScorer {
  readonly version: string;
  private readonly mean: Float64Array;
  private readonly scale: Float64Array;
  private readonly layers: readonly Layer[];

  private constructor(version: string, mean: number[], scale: number[], layers: Layer[]) {
    this.version = version;
    this.mean = Float64Array.from(mean);
    this.scale = Float64Array.from(scale);
    this.layers = layers;
  }

  static fromMetadata(raw: unknown): BaselineScorer {
    const meta = metadataSchema.parse(raw);
    if (meta.featureNames.join(",") !== FEATURE_NAMES.join(",")) {
      throw new Error("metadata features differ from features.ts");
    }
    let width = FEATURE_NAMES.length;
    if (meta.model.scalerMean.length !== width || meta.model.scalerScale.length !== width) {
      throw new Error(`scaler must have ${width} entries`);
    }
    for (const [k, layer] of meta.model.layers.entries()) {
      const units = layer.bias.length;
      if (layer.weights.length !== width || layer.weights.some((w) => w.length !== units)) {
        throw new Error(`layer ${k} must be ${width} x ${units}`);
      }
      width = units;
    }
    if (width !== 1 || meta.model.layers.at(-1)?.activation !== "logistic") {
      throw new Error("the last layer must be one logistic unit");
    }
    return new BaselineScorer(meta.version, meta.model.scalerMean, meta.model.scalerScale, meta.model.layers);
  }

  static async load(metadataPath: string): Promise<BaselineScorer> {
    return BaselineScorer.fromMetadata(JSON.parse(await readFile(metadataPath, "utf8")));
  }

  scoreOne(row: Float32Array): number {
    if (row.length !== this.mean.length) {
      throw new RangeError(`row must have ${this.mean.length} features, got ${row.length}`);
    }
    let x: Float64Array = Float64Array.from(row, (v, i) => (v - this.mean[i]!) / this.scale[i]!);
    for (const layer of this.layers) {
      const y = Float64Array.from(layer.bias);
      for (let i = 0; i < x.length; i++) {
        const xi = x[i]!;
        const w = layer.weights[i]!;
        for (let j = 0; j < y.length; j++) y[j]! += xi * w[j]!;
      }
      for (let j = 0; j < y.length; j++) {
        y[j] = layer.activation === "relu" ? Math.max(0, y[j]!) : 1 / (1 + Math.exp(-y[j]!));
      }
      x = y;
    }
    return x[0]!;
  }

  score(rows: readonly Float32Array[]): number[] {
    return rows.map((row) => this.scoreOne(row));
  }
}
