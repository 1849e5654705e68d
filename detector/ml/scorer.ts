import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import "./onnxRuntimeTelemetry.ts"; // before onnxruntime-node: its native library reads the switch when it loads
import { InferenceSession, Tensor } from "onnxruntime-node";
import { z } from "zod";
import { FEATURE_NAMES } from "./features.ts";

export { riskAdjustment } from "./risk.ts";
export type { RiskAdjustment } from "./risk.ts";
export { DEFAULT_ANOMALY_THRESHOLD } from "./threshold.ts";

const INPUT = "features";
const OUTPUT = "attack_probability";

/** The model could not be used: the detector must not start (or must stay not ready) with this message. */
export class ModelLoadError extends Error {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`cannot load anomaly model ${path}: ${reason}`, options);
    this.name = "ModelLoadError";
    this.path = path;
    this.reason = reason;
  }
}

const metadataSchema = z.object({
  version: z.string().min(1),
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
  featureNames: z.array(z.string()),
  threshold: z.number().gt(0).lt(1),
});

/** model.onnx -> model-metadata.json, written together by train.py */
export function metadataPathFor(modelPath: string): string {
  return join(dirname(modelPath), `${basename(modelPath, ".onnx")}-metadata.json`);
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readOrFail(modelPath: string, file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const reason = errorCode(err) === "ENOENT" ? `${what} ${file} not found` : `cannot read ${what} ${file}: ${message(err)}`;
    throw new ModelLoadError(modelPath, reason, { cause: err });
  }
}

function signatureProblem(session: InferenceSession, features: number): string | undefined {
  const input = session.inputMetadata[0];
  const output = session.outputMetadata.find((o) => o.name === OUTPUT);
  if (session.inputNames.length !== 1 || input?.name !== INPUT) {
    return `expected one input "${INPUT}", got [${session.inputNames.join(", ")}]`;
  }
  if (!input.isTensor || input.type !== "float32" || input.shape.length !== 2 || input.shape[1] !== features) {
    return `input "${INPUT}" must be float32 [N, ${features}], got ${JSON.stringify(input)}`;
  }
  if (!output) {
    return `no output "${OUTPUT}", outputs are [${session.outputNames.join(", ")}]`;
  }
  if (!output.isTensor || output.type !== "float32" || output.shape.length !== 1) {
    return `output "${OUTPUT}" must be float32 [N], got ${JSON.stringify(output)}`;
  }
  return undefined;
}

/**
 * The anomaly model: one ONNX Runtime session per process, loaded once; each `score` call is one
 * batched run. Loading verifies the file, its signature and its metadata, and throws ModelLoadError
 * rather than degrade to no model.
 */
export class AnomalyScorer {
  readonly version: string;
  readonly featureNames: readonly string[];
  /** the threshold this model was tuned for, from its metadata */
  readonly threshold: number;
  readonly modelPath: string;
  private readonly session: InferenceSession;

  private constructor(modelPath: string, session: InferenceSession, version: string, threshold: number) {
    this.modelPath = modelPath;
    this.session = session;
    this.version = version;
    this.threshold = threshold;
    this.featureNames = FEATURE_NAMES;
  }

  static async load(modelPath: string): Promise<AnomalyScorer> {
    const bytes = await readOrFail(modelPath, modelPath, "model file");
    let session: InferenceSession;
    try {
      // The model is a few kFLOPs per row: more threads only add contention with the rest of the pod.
      session = await InferenceSession.create(bytes, {
        executionProviders: ["cpu"],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: "all",
      });
    } catch (err) {
      throw new ModelLoadError(modelPath, `not a valid ONNX model (corrupt or truncated file?): ${message(err)}`, { cause: err });
    }
    try {
      const problem = signatureProblem(session, FEATURE_NAMES.length);
      if (problem) throw new ModelLoadError(modelPath, `wrong model signature: ${problem}`);

      const metaPath = metadataPathFor(modelPath);
      const metaText = (await readOrFail(modelPath, metaPath, "metadata file")).toString("utf8");
      let raw: unknown;
      try {
        raw = JSON.parse(metaText);
      } catch (err) {
        throw new ModelLoadError(modelPath, `metadata file ${metaPath} is not valid JSON: ${message(err)}`, { cause: err });
      }
      const parsed = metadataSchema.safeParse(raw);
      if (!parsed.success) {
        throw new ModelLoadError(modelPath, `metadata file ${metaPath} is malformed: ${z.prettifyError(parsed.error)}`);
      }
      const meta = parsed.data;
      const sha = createHash("sha256").update(bytes).digest("hex");
      if (sha !== meta.modelSha256) {
        throw new ModelLoadError(
          modelPath,
          `model file does not match its metadata ${metaPath} (sha256 ${sha}, metadata says ${meta.modelSha256}): retrain with retrain.sh, which writes both`,
        );
      }
      if (meta.featureNames.join(",") !== FEATURE_NAMES.join(",")) {
        throw new ModelLoadError(
          modelPath,
          `model was trained on features [${meta.featureNames.join(", ")}] but features.ts computes [${FEATURE_NAMES.join(", ")}]`,
        );
      }

      const scorer = new AnomalyScorer(modelPath, session, meta.version, meta.threshold);
      const probe = await scorer.score([new Float32Array(FEATURE_NAMES.length)]);
      if (probe.length !== 1 || !(probe[0]! >= 0 && probe[0]! <= 1)) {
        throw new ModelLoadError(modelPath, `model output is not one probability per row (got ${JSON.stringify(probe)} for one row)`);
      }
      return scorer;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Attack probabilities (0..1) in row order, from one batched run. */
  async score(rows: readonly Float32Array[]): Promise<number[]> {
    if (rows.length === 0) return [];
    const width = this.featureNames.length;
    const data = new Float32Array(rows.length * width);
    rows.forEach((row, i) => {
      if (!(row instanceof Float32Array) || row.length !== width) {
        throw new RangeError(`row ${i} must be a Float32Array of ${width} features, got length ${String((row as { length?: unknown }).length)}`);
      }
      if (!row.every(Number.isFinite)) {
        throw new RangeError(`row ${i} has a non-finite feature`);
      }
      data.set(row, i * width);
    });
    const result = await this.session.run({ [INPUT]: new Tensor("float32", data, [rows.length, width]) }, [OUTPUT]);
    const out = result[OUTPUT];
    if (!out || !(out.data instanceof Float32Array) || out.data.length !== rows.length) {
      throw new Error(`anomaly model ${this.modelPath} returned ${out?.data.length ?? "no"} values for ${rows.length} rows`);
    }
    return Array.from(out.data);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
