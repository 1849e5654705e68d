import { describe, expect, it } from "vitest";
import { riskAdjustment } from "./risk.ts";
import { DEFAULT_ANOMALY_THRESHOLD } from "./threshold.ts";
import metadata from "./model-metadata.json" with { type: "json" };

describe("riskAdjustment", () => {
  it("defaults to the committed model's threshold", () => {
    expect(DEFAULT_ANOMALY_THRESHOLD).toBe(metadata.threshold);
    expect(riskAdjustment(DEFAULT_ANOMALY_THRESHOLD)).toEqual({ riskDelta: 10, anomaly: true });
  });

  it("raises risk by 10..20 at or above the threshold (severity follows the risk: no level of its own)", () => {
    expect(riskAdjustment(0.8, 0.8)).toEqual({ riskDelta: 10, anomaly: true });
    expect(riskAdjustment(0.9, 0.8)).toEqual({ riskDelta: 15, anomaly: true });
    expect(riskAdjustment(1, 0.8)).toEqual({ riskDelta: 20, anomaly: true });
  });

  it("lowers risk by up to 10 below the threshold", () => {
    expect(riskAdjustment(0, 0.5)).toEqual({ riskDelta: -10, anomaly: false });
    expect(riskAdjustment(0.25, 0.5)).toEqual({ riskDelta: -5, anomaly: false });
    expect(riskAdjustment(0.499, 0.5)).toEqual({ riskDelta: 0, anomaly: false });
  });

  it("refuses values outside their range", () => {
    expect(() => riskAdjustment(Number.NaN)).toThrow(RangeError);
    expect(() => riskAdjustment(1.5)).toThrow(RangeError);
    expect(() => riskAdjustment(0.5, 1)).toThrow(RangeError);
  });
});
