import { describe, expect, it } from "vitest";
import { FEATURE_NAMES, featureVector, MIN_AUDIT_REQUESTS_FOR_SHARE, MIN_HTTP_REQUESTS_FOR_SHARE, trainedFeatureVector, type SourceBehaviour } from "./features.ts";
import { loadHeldoutSample } from "./heldout-sample.ts";
import metadata from "./model-metadata.json" with { type: "json" };

const quiet: SourceBehaviour = {
  windowSeconds: 300, events: 10, failedLogins: 0, successfulLogins: 0, distinctUsernames: 0, distinctPasswords: 0,
  commands: 0, downloads: 0, distinctDestPorts: 1, distinctDestIps: 1, flows: 5, bytesOut: 5000, bytesIn: 50000,
  alerts: 0, maxAlertSeverity: 0, httpRequests: 5, http4xx: 0, auditRequests: 0, auditForbidden: 0, secretReads: 0, execs: 0,
};

describe("featureVector", () => {
  it("has the features the committed model was trained on, in order", () => {
    expect([...FEATURE_NAMES]).toEqual(metadata.featureNames);
  });

  it("computes exactly what train.py computed on every held-out sample row", () => {
    const rows = loadHeldoutSample();
    expect(rows.length).toBeGreaterThanOrEqual(200);
    for (const row of rows) {
      const ts = trainedFeatureVector(row.behaviour);
      expect(ts.length).toBe(row.features.length);
      row.features.forEach((py, i) => {
        // both round a float64 result to float32; allow one float32 step for libm differences
        expect(Math.abs(ts[i]! - py), `${row.scenario} ${FEATURE_NAMES[i]}`).toBeLessThanOrEqual(Math.abs(py) * 2 ** -23 + 1e-12);
      });
    }
  });

  it("turns counts into per-minute log rates, shares and ratios", () => {
    const v = featureVector({ ...quiet, failedLogins: 30, successfulLogins: 10, httpRequests: 10, http4xx: 4 });
    const at = (name: string): number => v[FEATURE_NAMES.indexOf(name)]!;
    expect(at("failedLoginsPerMin")).toBeCloseTo(Math.log1p(6), 6);
    expect(at("loginFailureRatio")).toBeCloseTo(0.75, 6);
    expect(at("http4xxShare")).toBeCloseTo(0.4, 6);
    expect(at("auditForbiddenShare")).toBe(0);
    expect(at("bytesOutInLogRatio")).toBeCloseTo(Math.log1p(5000) - Math.log1p(50000), 5);
  });

  it("gives the model no 4xx share of fewer than 5 HTTP requests: a lone 404 reads as a lone 200", () => {
    expect(MIN_HTTP_REQUESTS_FOR_SHARE).toBe(5);
    const share = (b: SourceBehaviour) => featureVector(b)[FEATURE_NAMES.indexOf("http4xxShare")]!;
    const lone404 = { ...quiet, httpRequests: 1, http4xx: 1 };
    expect(share(lone404)).toBe(0);
    expect([...featureVector(lone404)]).toEqual([...featureVector({ ...lone404, http4xx: 0 })]);
    expect(share({ ...quiet, httpRequests: 4, http4xx: 4 })).toBe(0);
    expect(share({ ...quiet, httpRequests: 5, http4xx: 4 })).toBeCloseTo(0.8, 6);
    // what the committed model was trained on (train.py) has no such gate
    expect(trainedFeatureVector(lone404)[FEATURE_NAMES.indexOf("http4xxShare")]).toBe(1);
  });

  it("gives the model no forbidden share of fewer than 10 Kubernetes requests: a developer's one refused kubectl call is no attack", () => {
    expect(MIN_AUDIT_REQUESTS_FOR_SHARE).toBe(10);
    const share = (b: SourceBehaviour) => featureVector(b)[FEATURE_NAMES.indexOf("auditForbiddenShare")]!;
    expect(share({ ...quiet, auditRequests: 1, auditForbidden: 1 })).toBe(0);
    expect(share({ ...quiet, auditRequests: 9, auditForbidden: 2 })).toBe(0);
    expect(share({ ...quiet, auditRequests: 10, auditForbidden: 5 })).toBeCloseTo(0.5, 6);
    expect(trainedFeatureVector({ ...quiet, auditRequests: 1, auditForbidden: 1 })[FEATURE_NAMES.indexOf("auditForbiddenShare")]).toBe(1);
  });

  it("treats a zero-length window as one second instead of dividing by zero", () => {
    const v = featureVector({ ...quiet, windowSeconds: 0 });
    expect(v.every(Number.isFinite)).toBe(true);
  });

  it("refuses negative or non-finite counts", () => {
    expect(() => featureVector({ ...quiet, flows: -1 })).toThrow(/flows/);
    expect(() => featureVector({ ...quiet, bytesOut: Number.NaN })).toThrow(/bytesOut/);
    expect(() => featureVector({ ...quiet, windowSeconds: Number.POSITIVE_INFINITY })).toThrow(/windowSeconds/);
    expect(() => featureVector({ ...quiet, httpRequests: Number.NaN })).toThrow(/httpRequests/);
  });
});
