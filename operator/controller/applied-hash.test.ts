import { describe, expect, it } from "vitest";
import type { ChildObject } from "../render/meta.ts";
import { appliedHashAnnotation, appliedHashPath, withAppliedHash } from "./applied-hash.ts";
import { driftedFields } from "./drift.ts";

const deployment = (podSpec: Record<string, unknown>): ChildObject => ({
  apiVersion: "apps/v1", kind: "Deployment",
  metadata: { name: "x-detector", namespace: "ns", labels: { app: "x" }, ownerReferences: [] },
  spec: { template: { spec: { containers: [{ name: "detector", image: "d:1" }], ...podSpec } } },
});

describe("applied hash", () => {
  it("lets the drift check see a field that is no longer rendered", () => {
    const before = withAppliedHash(deployment({ nodeSelector: { pool: "security" } }));
    const after = withAppliedHash(deployment({}));
    // The live object still has the old field: comparing the rendered fields alone finds nothing to apply.
    expect(driftedFields(deployment({}), before)).toEqual([]);
    expect(driftedFields(after, before)).toEqual([appliedHashPath]);
  });

  it("is stable for the same content in any key order, and keeps the object's own annotations", () => {
    const a = withAppliedHash<ChildObject>({ ...deployment({ tolerations: [{ key: "k", operator: "Exists" }] }), metadata: { name: "x-detector", namespace: "ns", labels: { app: "x" }, ownerReferences: [], annotations: { note: "n" } } });
    const b = withAppliedHash<ChildObject>({ spec: { template: { spec: { tolerations: [{ operator: "Exists", key: "k" }], containers: [{ image: "d:1", name: "detector" }] } } },
      metadata: { annotations: { note: "n" }, ownerReferences: [], labels: { app: "x" }, namespace: "ns", name: "x-detector" }, kind: "Deployment", apiVersion: "apps/v1" });
    expect(a.metadata.annotations?.[appliedHashAnnotation]).toMatch(/^[0-9a-f]{16}$/);
    expect(a.metadata.annotations?.[appliedHashAnnotation]).toBe(b.metadata.annotations?.[appliedHashAnnotation]);
    expect(a.metadata.annotations?.note).toBe("n");
    expect(driftedFields(a, b)).toEqual([]);
  });

  it("changes with any rendered value", () => {
    const hash = (o: ChildObject) => withAppliedHash(o).metadata.annotations?.[appliedHashAnnotation];
    expect(hash(deployment({ nodeSelector: { pool: "a" } }))).not.toBe(hash(deployment({ nodeSelector: { pool: "b" } })));
  });
});
