import { describe, expect, it } from "vitest";
import type { KubeObject } from "../kube/client.ts";
import type { ChildObject } from "../render/meta.ts";
import { appliesStorageClass, followLiveClaim, growsBoundClaim } from "./claim.ts";

const desired = (spec: { storageClassName?: string; size?: string }): ChildObject => ({
  apiVersion: "v1", kind: "PersistentVolumeClaim",
  metadata: { name: "s-data", namespace: "ns", labels: {}, ownerReferences: [] },
  spec: {
    accessModes: ["ReadWriteOnce"],
    ...(spec.storageClassName !== undefined ? { storageClassName: spec.storageClassName } : {}),
    resources: { requests: { storage: spec.size ?? "1Gi" } },
  },
});

const live = (o: { storageClassName?: string; size?: string; phase?: string; accessModes?: string[]; ownsClass?: boolean } = {}): KubeObject => ({
  apiVersion: "v1", kind: "PersistentVolumeClaim",
  metadata: {
    name: "s-data", namespace: "ns",
    managedFields: [{ manager: "minixdr-operator", operation: "Apply",
      fieldsV1: { "f:spec": { "f:accessModes": {}, ...(o.ownsClass ? { "f:storageClassName": {} } : {}), "f:resources": { "f:requests": { "f:storage": {} } } } } }],
  },
  spec: {
    accessModes: o.accessModes ?? ["ReadWriteOnce"], volumeMode: "Filesystem",
    ...(o.storageClassName !== undefined ? { storageClassName: o.storageClassName } : {}),
    resources: { requests: { storage: o.size ?? "1Gi" } },
  },
  status: { phase: o.phase ?? "Pending" },
});

const specOf = (o: ChildObject) => o.spec as { storageClassName?: string; accessModes: string[]; resources: { requests: { storage: string } } };

describe("followLiveClaim", () => {
  it("changes nothing and says nothing when the claim is as the spec says", () => {
    const d = desired({ storageClassName: "fast" });
    expect(followLiveClaim(d, live({ storageClassName: "fast", ownsClass: true }), true)).toEqual({ object: d, notes: [] });
    // The same size written another way is no change.
    expect(followLiveClaim(desired({ size: "1024Mi" }), live({ size: "1Gi" }), false).notes).toEqual([]);
  });

  it("keeps the claim's storage class when the spec changes it, and names the field, the class kept and the way out", () => {
    const r = followLiveClaim(desired({ storageClassName: "slow" }), live({ storageClassName: "fast", ownsClass: true }), true);
    expect(specOf(r.object).storageClassName).toBe("fast");
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(/^PersistentVolumeClaim s-data keeps storage class fast: spec\.storage\.sqlite\.storageClassName asks for slow/);
    expect(r.notes[0]).toMatch(/delete PersistentVolumeClaim s-data, which deletes the SQLite data on it/);
  });

  it("keeps a class the operator set when the spec no longer sets one, but leaves a class the cluster defaulted alone", () => {
    const removed = followLiveClaim(desired({}), live({ storageClassName: "fast", ownsClass: true }), true);
    expect(specOf(removed.object).storageClassName).toBe("fast");
    expect(removed.notes[0]).toMatch(/keeps storage class fast: .* asks for no class \(the cluster's default\)/);
    // DefaultStorageClass admission set it: no field of ours, nothing to keep, nothing to say.
    const defaulted = followLiveClaim(desired({}), live({ storageClassName: "standard" }), appliesStorageClass(live({ storageClassName: "standard" })));
    expect(specOf(defaulted.object)).not.toHaveProperty("storageClassName");
    expect(defaulted.notes).toEqual([]);
  });

  it("keeps the claim without a class, or with the empty class, when the spec asks for one", () => {
    const none = followLiveClaim(desired({ storageClassName: "fast" }), live({}), false);
    expect(specOf(none.object)).not.toHaveProperty("storageClassName");
    expect(none.notes[0]).toMatch(/keeps storage class none: .* asks for fast/);
    const empty = followLiveClaim(desired({ storageClassName: "fast" }), live({ storageClassName: "", ownsClass: true }), true);
    expect(specOf(empty.object).storageClassName).toBe("");
    expect(empty.notes[0]).toMatch(/keeps storage class "" \(no class\): .* asks for fast/);
  });

  it("never shrinks a claim, bound or not", () => {
    for (const phase of ["Pending", "Bound"]) {
      const r = followLiveClaim(desired({ size: "512Mi" }), live({ size: "1Gi", phase }), false);
      expect(specOf(r.object).resources.requests.storage).toBe("1Gi");
      expect(r.notes).toEqual([expect.stringMatching(/^PersistentVolumeClaim s-data keeps its size 1Gi: spec\.storage\.sqlite\.size asks for 512Mi, and a claim cannot shrink; a new claim is needed/)]);
    }
  });

  it("grows a bound claim, and an unbound one once it is bound (before, the API server refuses any change)", () => {
    const bound = followLiveClaim(desired({ size: "2Gi" }), live({ size: "1Gi", phase: "Bound" }), false);
    expect(specOf(bound.object).resources.requests.storage).toBe("2Gi");
    expect(bound.notes).toEqual([]);
    const pending = followLiveClaim(desired({ size: "2Gi" }), live({ size: "1Gi", phase: "Pending" }), false);
    expect(specOf(pending.object).resources.requests.storage).toBe("1Gi");
    expect(pending.notes).toEqual([expect.stringMatching(/keeps its size 1Gi for now: spec\.storage\.sqlite\.size asks for 2Gi, .*before it is bound to a volume \(it is Pending\); the larger size is applied once it is bound/)]);
  });

  it("keeps a bound claim's size where its storage class does not let it grow (the API server refuses it), and says why", () => {
    const d = desired({ storageClassName: "fixed", size: "2Gi" });
    const claim = live({ storageClassName: "fixed", size: "1Gi", phase: "Bound", ownsClass: true });
    expect(growsBoundClaim(d, claim)).toBe(true);
    const cases = [
      [{ allowed: false, className: "fixed" }, /its storage class fixed does not allow volume expansion \(allowVolumeExpansion is not true\); once an administrator sets it, the larger size is applied$/],
      [{ allowed: false, className: "fixed", missing: true }, /its storage class fixed does not exist, and only a claim whose class allows volume expansion can grow$/],
      [{ allowed: false, className: undefined }, /it has no storage class, and only a claim whose class allows volume expansion can grow$/],
    ] as const;
    for (const [expansion, why] of cases) {
      const r = followLiveClaim(d, claim, true, expansion);
      expect(specOf(r.object).resources.requests.storage).toBe("1Gi");
      expect(r.notes).toEqual([expect.stringMatching(/^PersistentVolumeClaim s-data keeps its size 1Gi: spec\.storage\.sqlite\.size asks for 2Gi, and /)]);
      expect(r.notes[0]).toMatch(why);
    }
    // Allowed, or not known (the class could not be read): applied, for the API server to judge.
    for (const expansion of [{ allowed: true, className: "fixed" }, undefined]) {
      const r = followLiveClaim(d, claim, true, expansion);
      expect(specOf(r.object).resources.requests.storage).toBe("2Gi");
      expect(r.notes).toEqual([]);
    }
    // Only a growth of a bound claim asks the class.
    expect(growsBoundClaim(desired({ size: "2Gi" }), live({ size: "1Gi", phase: "Pending" }))).toBe(false);
    expect(growsBoundClaim(desired({ size: "1Gi" }), live({ size: "1024Mi", phase: "Bound" }))).toBe(false);
    expect(growsBoundClaim(desired({ size: "512Mi" }), live({ size: "1Gi", phase: "Bound" }))).toBe(false);
  });

  it("follows access modes the operator does not take from the spec, without a note", () => {
    const r = followLiveClaim(desired({}), live({ accessModes: ["ReadWriteMany"] }), false);
    expect(specOf(r.object).accessModes).toEqual(["ReadWriteMany"]);
    expect(r.notes).toEqual([]);
  });
});
