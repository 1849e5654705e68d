import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BaselineScorer } from "./baseline.ts";
import { featureVector } from "./features.ts";
import { loadHeldoutSample } from "./heldout-sample.ts";
import metadata from "./model-metadata.json" with { type: "json" };
import { AnomalyScorer } from "./scorer.ts";

let onnx: AnomalyScorer;

beforeAll(async () => {
  onnx = await AnomalyScorer.load(new URL("./model.onnx", import.meta.url).pathname);
});

afterAll(async () => {
  await onnx.close();
});

describe("BaselineScorer", () => {
  it("matches ONNX Runtime to 1e-5 on the held-out sample and on stretched rows", async () => {
    const baseline = BaselineScorer.fromMetadata(metadata);
    expect(baseline.version).toBe(onnx.version);
    const sample = loadHeldoutSample().map((r) => featureVector(r.behaviour));
    const rows = [...sample, ...sample.map((v) => v.map((x) => x * 1.7)), new Float32Array(sample[0]!.length)];
    const expected = await onnx.score(rows);
    baseline.score(rows).forEach((p, i) => expect(Math.abs(p - expected[i]!)).toBeLessThan(1e-5));
  });

  it("refuses weights that do not fit the features", () => {
    const layers = metadata.model.layers.slice(0, 1);
    expect(() => BaselineScorer.fromMetadata({ ...metadata, model: { ...metadata.model, layers } })).toThrow(/one logistic unit/);
    const scalerMean = metadata.model.scalerMean.slice(1);
    expect(() => BaselineScorer.fromMetadata({ ...metadata, model: { ...metadata.model, scalerMean } })).toThrow(/scaler/);
  });

  it("refuses rows of the wrong length", () => {
    expect(() => BaselineScorer.fromMetadata(metadata).scoreOne(new Float32Array(3))).toThrow(RangeError);
  });
});
