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

  it("takes a value the API server stores as absent (null, \"\", []) as no difference", () => {
    expect(driftedFields({ tolerations: [{ key: "k", value: "" }], affinity: null, ingress: [] }, { tolerations: [{ key: "k" }] })).toEqual([]);
    expect(driftedFields({ value: "x" }, {})).toEqual([".value"]);
  });

  it("matches lists keyed by name by name: an item another manager added is not ours to remove", () => {
    const desired = { containers: [{ name: "detector", env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] }] };
    const withExtra = { containers: [{ name: "detector", env: [{ name: "EXTRA", value: "x" }, { name: "A", value: "1" }, { name: "B", value: "2" }] }] };
    expect(driftedFields(desired, withExtra)).toEqual([]);
    const changed = { containers: [{ name: "detector", env: [{ name: "A", value: "9" }, { name: "EXTRA", value: "x" }] }] };
    expect(driftedFields(desired, changed)).toEqual([".containers[detector].env[A].value", ".containers[detector].env[B]"]);
    // Items of theirs without a name, or sharing a name with ours (a second mount of our volume), are theirs too.
    const ports = { ports: [{ name: "http", containerPort: 8080 }] };
    expect(driftedFields(ports, { ports: [{ name: "http", containerPort: 8080 }, { containerPort: 9229, protocol: "TCP" }] })).toEqual([]);
    expect(driftedFields(ports, { ports: [{ containerPort: 9229 }, { name: "http", containerPort: 8081 }] })).toEqual([".ports[http].containerPort"]);
    const mounts = { volumeMounts: [{ name: "data", mountPath: "/data" }] };
    expect(driftedFields(mounts, { volumeMounts: [{ name: "data", mountPath: "/backup" }, { name: "data", mountPath: "/data" }] })).toEqual([]);
    expect(driftedFields(mounts, { volumeMounts: [{ name: "data", mountPath: "/backup" }] })).toEqual([".volumeMounts[data].mountPath"]);
    // Lists without names are compared whole (a NetworkPolicy's rules).
    expect(driftedFields({ rules: [{ port: 1 }] }, { rules: [{ port: 1 }, { port: 2 }] })).toEqual([".rules"]);
  });

  it("requires an empty selector we render to exist", () => {
    expect(driftedFields({ from: [{ podSelector: {} }] }, { from: [{ podSelector: {} }] })).toEqual([]);
    expect(driftedFields({ from: [{ podSelector: {} }] }, { from: [{ ipBlock: { cidr: "1.2.3.4/32" } }] })).toEqual([".from[0].podSelector"]);
  });
});
