import { expect, it, vi } from "vitest";
import { KubeApiError } from "../../operator/kube/client.ts";
import { describeCluster, useNamespace } from "../support/cluster.ts";
import { admin, applyMiniXdr, miniXdrRef } from "../support/minixdr.ts";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { invalidSpecs } from "../support/invalid-specs.ts";
import { miniXdrCrd } from "../../operator/api/crd.ts";
import { applyObject, waitForCrd } from "../support/operator.ts";

describeCluster("MiniXdr validation at apply time", () => {
  const ns = useNamespace("validation");

  it.each(invalidSpecs)("refuses %s, naming the field", async (_what, spec, message) => {
    const err = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "bad", namespace: ns.name }, spec } as MiniXdr)
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    // Server-side apply reports fields the schema does not declare, or of the wrong type, while building its
    // typed patch: a 500 that still names the field (upstream behaviour). Everything else is a 422.
    expect((err as KubeApiError).status).toBe(/not declared|must be of type|typed patch/.test(message.source) ? 500 : 422);
    expect((err as KubeApiError).message).toMatch(message);
  });

  const pg = { type: "postgres", postgres: { urlSecretRef: { name: "db", key: "url" } } };
  it.each([
    ["a volume size", { storage: { sqlite: { size: "10gi" } } }, "spec.storage.sqlite.size"],
    ["a CPU request under a limit", { detector: { resources: { requests: { cpu: "1.2.3" }, limits: { cpu: "2" } } } }, "spec.detector.resources.requests.cpu"],
    ["an extended resource", { detector: { resources: { limits: { memory: "1Gi", "nvidia.com/gpu": "1x" } } } }, "spec.detector.resources.limits.nvidia.com/gpu"],
    ["the request an autoscaler targets", { storage: pg, detector: { resources: { requests: { cpu: "lots" } }, autoscaling: { enabled: true } } }, "spec.detector.resources.requests.cpu"],
  ])("refuses %s that is no quantity with one error naming the field, not also a rule that could not read it", async (_what, spec, field) => {
    const err = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "notquantity", namespace: ns.name }, spec } as MiniXdr)
      .then(() => undefined, (e: unknown) => e);
    const message = (err as KubeApiError).message;
    expect(message).toContain(field);
    expect(message).toMatch(/should match/);
    expect(message).not.toMatch(/evaluating rule|quantities must match|must be greater than zero|autoscaling with a CPU target/);
  });

  it("refuses a name too long for the names of its children", async () => {
    const err = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "x".repeat(41), namespace: ns.name }, spec: {} })
      .then(() => undefined, (e: unknown) => e);
    expect((err as KubeApiError).message).toMatch(/metadata\.name must be at most 40 characters/);
  });

  it.each(["1abc", "a.b", "-x"])("refuses the name %s, which its Services could not carry", async (name) => {
    const err = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name, namespace: ns.name }, spec: {} })
      .then(() => undefined, (e: unknown) => e);
    expect((err as KubeApiError).message).toMatch(/metadata\.name must start with a letter and hold only lowercase letters, digits and '-'/);
  });

  it("still takes spec and status updates of an object named before the name rules existed, and refuses new ones", async () => {
    // The MiniXdr CRD as it is, under a group of this test's own, installed first without its name rules (as before
    // they were added), so an object with a name they refuse can be stored, then upgraded to the rules of today.
    const testGroup = "upgrade.test.minixdr.io";
    const crd = structuredClone(miniXdrCrd()) as { metadata: { name: string }; spec: { group: string; versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] } };
    crd.metadata.name = `minixdrs.${testGroup}`;
    crd.spec.group = testGroup;
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    const rules = schema["x-kubernetes-validations"];
    const ref = { group: testGroup, version: "v1alpha1", plural: "minixdrs" };
    try {
      delete schema["x-kubernetes-validations"];
      await applyObject(admin(), crd);
      await waitForCrd(crd.metadata.name);
      const old = await admin().create<MiniXdr>(ref, ns.name, { apiVersion: `${testGroup}/v1alpha1`, kind: "MiniXdr", metadata: { name: "1abc" }, spec: {} });

      schema["x-kubernetes-validations"] = rules;
      await applyObject(admin(), crd);
      // The upgraded rules are in force once a new object with such a name is refused.
      await vi.waitFor(async () => {
        const err = await admin().create(ref, ns.name, { apiVersion: `${testGroup}/v1alpha1`, kind: "MiniXdr", metadata: { name: "2abc" }, spec: {} }).then(() => undefined, (e: unknown) => e);
        expect((err as KubeApiError | undefined)?.message).toMatch(/metadata\.name must start with a letter/);
      }, { timeout: 10_000 });
      const tooLong = await admin().create(ref, ns.name, { apiVersion: `${testGroup}/v1alpha1`, kind: "MiniXdr", metadata: { name: "x".repeat(41) }, spec: {} }).then(() => undefined, (e: unknown) => e);
      expect((tooLong as KubeApiError).message).toMatch(/metadata\.name must be at most 40 characters/);

      // The stored object still takes a change of its spec (the admin's fix) and of its status (what the operator says).
      const updated = await admin().update<MiniXdr>(ref, ns.name, "1abc", { ...old, spec: { paused: true } });
      expect(updated.spec?.paused).toBe(true);
      const status = await admin().call<MiniXdr>("update", "minixdrs/status", "PUT", `/apis/${testGroup}/v1alpha1/namespaces/${ns.name}/minixdrs/1abc/status`, {
        body: { ...updated, status: { observedGeneration: updated.metadata.generation, endpoint: "" } },
      });
      expect(status.status?.observedGeneration).toBe(updated.metadata.generation);
    } finally {
      await admin().call("delete", "customresourcedefinitions", "DELETE", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`).catch(() => undefined);
    }
  });

  it("accepts quantities and percentages in every form Kubernetes takes", async () => {
    const stored = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "forms", namespace: ns.name }, spec: {
      detector: { resources: { requests: { cpu: "250m", memory: "0.5Gi" }, limits: { cpu: 2, memory: "1e9" } }, disruptionBudget: { enabled: true, maxUnavailable: "100%" } },
      storage: { sqlite: { size: ".5Ti", storageClassName: "fast-ssd.example.com" } },
    } });
    expect(stored.metadata.name).toBe("forms");
  });

  it("refuses a label key of 20,000 characters, which would break the apply of the Deployment", async () => {
    // Created as JSON: server-side apply decodes YAML, which refuses keys over 1,024 characters before validation.
    const cr = { apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "longkey", namespace: ns.name },
      spec: { detector: { nodeSelector: { ["k".repeat(20_000)]: "x" } } } };
    const err = await admin().create(miniXdrRef, ns.name, cr).then(() => undefined, (e: unknown) => e);
    expect((err as KubeApiError).status).toBe(422);
    expect((err as KubeApiError).message).toMatch(/spec\.detector\.nodeSelector: .*label keys must be qualified names/);
  });

  it("accepts the container resources Kubernetes takes", async () => {
    const resources = {
      requests: { cpu: "250m", memory: "1Gi", "ephemeral-storage": "1Gi", "hugepages-2Mi": "64Mi", "nvidia.com/gpu": 1, "example.com/foo": "2" },
      limits: { cpu: "0.5", memory: "1Gi", "hugepages-2Mi": "64Mi", "nvidia.com/gpu": "1", "example.com/foo": 2 },
    };
    const stored = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "resources", namespace: ns.name }, spec: {
      detector: { resources },
    } });
    expect(stored.spec?.detector?.resources).toEqual(resources);
  });

  it.each([
    ["no resources (the defaults request cpu and memory)", {}, {}],
    ["a CPU limit only (the request defaults to it)", { limits: { cpu: 2, memory: "1Gi" } }, {}],
    ["a memory target and a memory limit only", { limits: { memory: "1Gi" } }, { targetMemoryUtilizationPercentage: 75 }],
    ["both targets and both requests", { requests: { cpu: "250m", memory: "256Mi" } }, { targetCPUUtilizationPercentage: 60, targetMemoryUtilizationPercentage: 75 }],
  ])("accepts autoscaling with %s", async (_what, resources, targets) => {
    const stored = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "hpa", namespace: ns.name }, spec: {
      detector: { ...(Object.keys(resources).length ? { resources } : {}), autoscaling: { enabled: true, ...targets } },
      storage: { type: "postgres", postgres: { urlSecretRef: { name: "db", key: "url" } } },
    } });
    expect(stored.spec?.detector?.autoscaling).toEqual({ enabled: true, ...targets });
  });

  it("accepts tolerations, label keys and label values in every form Kubernetes takes", async () => {
    const labels = { "app.kubernetes.io/name": "prometheus", "Tier_1.x": "", [`${"p".repeat(253)}/${"n".repeat(63)}`]: "v".repeat(63), a: "A-b_c.D" };
    const stored = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "labels", namespace: ns.name }, spec: {
      detector: {
        nodeSelector: labels,
        tolerations: [
          { operator: "Exists" },
          { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
          { key: "dedicated", value: "security", effect: "NoSchedule" },
          { key: "dedicated", operator: "Equal", value: "", effect: "PreferNoSchedule" },
        ],
      },
      networkPolicy: { ingress: { podSelector: labels } },
    } });
    expect(stored.spec?.detector?.nodeSelector).toEqual(labels);
  });

  it("accepts an empty storage class (no class, not the cluster default)", async () => {
    const stored = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "noclass", namespace: ns.name }, spec: {
      storage: { sqlite: { size: "1e9", storageClassName: "" } },
    } });
    expect(stored.spec?.storage?.sqlite).toEqual({ size: "1e9", storageClassName: "" });
  });

  it.each([
    "ghcr.io/team__x/minixdr:1", "ghcr.io/a--b/minixdr:1", "Registry.Example.com/minixdr:1", "localhost:5000/a.b_c/minixdr:v1.0_rc",
    `[2001:db8::1]:5000/minixdr@sha256:${"a".repeat(64)}`, `minixdr:0.1.0@sha512:${"F".repeat(128)}`,
  ])("accepts the image %s", async (image) => {
    const stored = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "image", namespace: ns.name }, spec: {
      detector: { image },
    } });
    expect(stored.spec?.detector?.image).toBe(image);
  });

  it("accepts an empty spec (every default applies in memory) and stores it unchanged", async () => {
    const stored = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "empty", namespace: ns.name }, spec: {} });
    expect(stored.spec).toEqual({});
  });
});
