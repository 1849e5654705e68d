import { describe, expect, it } from "vitest";
import { quantityValue } from "../api/quantity.ts";
import { driftedFields } from "./drift.ts";

describe("drift detection", () => {
  it("ignores fields the API server adds", () => {
    const desired = { spec: { ports: [{ name: "http", port: 8080 }] } };
    const live = { spec: { clusterIP: "10.0.0.7", ports: [{ name: "http", port: 8080, targetPort: 8080, protocol: "TCP" }] }, status: {} };
    expect(driftedFields(desired, live)).toEqual([]);
  });

  it("reports a hand edit of a field we own, with its path", () => {
    expect(driftedFields({ spec: { replicas: 2, template: { spec: { containers: [{ image: "a:1" }] } } } },
      { spec: { replicas: 2, template: { spec: { containers: [{ image: "a:2" }] } } } })).toEqual([".spec.template.spec.containers[0].image"]);
  });

  it("treats a list of a different length as drift", () => {
    expect(driftedFields({ args: ["detector"] }, { args: ["detector", "--debug"] })).toEqual([".args"]);
  });

  it("compares quantities by value", () => {
    expect(quantityValue("500m")).toBe(0.5);
    expect(quantityValue("1Gi")).toBe(1073741824);
    expect(driftedFields({ cpu: "0.5", memory: "1024Mi" }, { cpu: "500m", memory: "1Gi" })).toEqual([]);
    expect(driftedFields({ cpu: "1" }, { cpu: "2" })).toEqual([".cpu"]);
  });

  it("requires an empty selector we render to exist", () => {
    expect(driftedFields({ from: [{ podSelector: {} }] }, { from: [{ podSelector: {} }] })).toEqual([]);
    expect(driftedFields({ from: [{ podSelector: {} }] }, { from: [{ ipBlock: { cidr: "1.2.3.4/32" } }] })).toEqual([".from[0].podSelector"]);
  });
});
