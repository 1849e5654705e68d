import { expect, it } from "vitest";
import { KubeApiError } from "../../operator/kube/client.ts";
import { describeCluster, useNamespace } from "../support/cluster.ts";
import { admin, applyMiniXdr, miniXdrRef } from "../support/minixdr.ts";
import type { MiniXdr } from "../../operator/api/minixdr.ts";

const es = { secretStoreRef: { name: "vault" }, remoteKeys: { jwtSigningKey: "a", adminPasswordHash: "b", ingestToken: "c" } };
const pg = { type: "postgres", postgres: { urlSecretRef: { name: "db", key: "url" } } };

/** Each spec is wrong in one way; the API server must refuse it and name the field. */
const invalid: [string, unknown, RegExp][] = [
  ["replicas below 1", { detector: { replicas: 0 } }, /spec\.detector\.replicas: Invalid value: 0: .*greater than or equal to 1/],
  ["an unknown field", { detector: { replicaz: 2 } }, /\.spec\.detector\.replicaz: field not declared in schema/],
  ["a wrong type", { detector: { replicas: "two" } }, /typed patch.*\.spec\.detector\.replicas: expected numeric \(int or float\), got string/],
  ["an unknown storage type", { storage: { type: "mysql" } }, /spec\.storage\.type: Unsupported value: "mysql"/],
  ["minReplicas above maxReplicas", { storage: pg, detector: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 3 } } },
    /spec\.detector\.autoscaling\.minReplicas: .*minReplicas must be less than or equal to maxReplicas/],
  ["minAvailable and maxUnavailable together", { detector: { disruptionBudget: { enabled: true, minAvailable: 1, maxUnavailable: 1 } } },
    /spec\.detector\.disruptionBudget\.minAvailable: .*either minAvailable or maxUnavailable, not both/],
  ["existingSecret and externalSecret together", { secrets: { existingSecret: "mine", externalSecret: es } },
    /spec\.secrets\.existingSecret: .*either existingSecret or externalSecret, not both/],
  ["several replicas on SQLite", { detector: { replicas: 3 } }, /spec\.storage\.type: .*must be postgres when spec\.detector\.replicas > 1/],
  ["autoscaling on SQLite", { detector: { autoscaling: { enabled: true } } }, /spec\.storage\.type: .*must be postgres when .*autoscaling/],
  ["postgres without a URL", { storage: { type: "postgres" } }, /spec\.storage\.postgres: .*postgres needs a URL/],
  ["postgres settings with sqlite", { storage: { type: "sqlite", postgres: { urlSecretRef: { name: "db", key: "url" } } } },
    /spec\.storage\.postgres: .*postgres settings require type: postgres/],
  ["a malformed CIDR", { networkPolicy: { ingress: { cidrs: ["10.0.0.0/33"] } } }, /spec\.networkPolicy\.ingress\.cidrs: .*CIDR blocks/],
  ["a malformed quantity", { detector: { resources: { requests: { cpu: "lots" } } } }, /spec\.detector\.resources\.requests\.cpu: .*should match/],
  ["a percentage above its pattern", { detector: { disruptionBudget: { enabled: true, maxUnavailable: "fifty%" } } },
    /spec\.detector\.disruptionBudget\.maxUnavailable: .*should match/],
  ["a budget that allows no eviction (a drain could never finish)", { detector: { disruptionBudget: { enabled: true, maxUnavailable: 0 } } },
    /spec\.detector\.disruptionBudget\.maxUnavailable: .*greater than or equal to 1/],
  ["a budget of 0% unavailable", { console: { enabled: true, disruptionBudget: { enabled: true, maxUnavailable: "0%" } } },
    /spec\.console\.disruptionBudget\.maxUnavailable: .*should match/],
  ["an anomaly threshold above 1", { detector: { config: { detection: { anomalyThreshold: 1.5 } } } },
    /spec\.detector\.config\.detection\.anomalyThreshold: Invalid value: 1\.5: .*less than or equal to 1/],
  ["a login-after-failures threshold of 0", { detector: { config: { detection: { loginAfterFailuresThreshold: 0 } } } },
    /spec\.detector\.config\.detection\.loginAfterFailuresThreshold: Invalid value: 0: .*greater than or equal to 1/],
  ["a tool-download window over a day", { detector: { config: { detection: { toolDownloadWindowSeconds: 90000 } } } },
    /spec\.detector\.config\.detection\.toolDownloadWindowSeconds: Invalid value: 90000: .*less than or equal to 86400/],
  ["an event retention of 0 days", { storage: { eventRetentionDays: 0 } },
    /spec\.storage\.eventRetentionDays: Invalid value: 0: .*greater than or equal to 1/],
  ["an unknown containment mode", { detector: { config: { containmentMode: "nuke" } } }, /spec\.detector\.config\.containmentMode: Unsupported value: "nuke"/],
  ["an image with spaces", { detector: { image: "my image:latest" } }, /spec\.detector\.image: .*should match/],
  ["an unknown secret store kind", { secrets: { externalSecret: { ...es, secretStoreRef: { name: "vault", kind: "Vault" } } } },
    /spec\.secrets\.externalSecret\.secretStoreRef\.kind: Unsupported value: "Vault"/],
  ["a malformed refresh interval", { secrets: { externalSecret: { ...es, refreshInterval: "hourly" } } },
    /spec\.secrets\.externalSecret\.refreshInterval: .*should match/],
  ["a percentage above 100%", { detector: { disruptionBudget: { enabled: true, maxUnavailable: "150%" } } },
    /spec\.detector\.disruptionBudget\.maxUnavailable: .*should match/],
  ["a minAvailable of 500%", { detector: { disruptionBudget: { enabled: true, minAvailable: "500%" } } },
    /spec\.detector\.disruptionBudget\.minAvailable: .*should match/],
  ["a negative memory limit", { detector: { resources: { limits: { memory: "-1Gi" } } } }, /spec\.detector\.resources\.limits\.memory: .*should match/],
  ["a volume size that is not a quantity", { storage: { sqlite: { size: "1.2.3" } } }, /spec\.storage\.sqlite\.size: .*should match/],
  ["console replicas with the console off", { console: { replicas: 3 } }, /spec\.console\.enabled: .*console is not enabled/],
  // Tolerations a pod would refuse (Kubernetes' ValidateTolerations), refused here instead of failing the Deployment.
  ["tolerationSeconds without effect NoExecute", { detector: { tolerations: [{ key: "a", operator: "Equal", value: "b", effect: "NoSchedule", tolerationSeconds: 30 }] } },
    /spec\.detector\.tolerations\[0\]\.effect: .*effect must be NoExecute when tolerationSeconds is set/],
  ["a value with operator Exists", { detector: { tolerations: [{ key: "a", operator: "Exists", value: "b" }] } },
    /spec\.detector\.tolerations\[0\]\.value: .*value must be empty when operator is Exists/],
  ["an empty toleration key with operator Equal", { console: { tolerations: [{ operator: "Equal", value: "b" }] } },
    /spec\.console\.tolerations\[0\]\.operator: .*operator must be Exists when key is empty/],
  ["an empty toleration key without an operator", { detector: { tolerations: [{ key: "", effect: "NoSchedule" }] } },
    /spec\.detector\.tolerations\[0\]\.operator: .*operator must be Exists when key is empty/],
  ["a toleration key that is no qualified name", { detector: { tolerations: [{ key: "bad key!", operator: "Exists" }] } },
    /spec\.detector\.tolerations\[0\]\.key: .*should match/],
  ["a toleration value that is no label value", { detector: { tolerations: [{ key: "a", value: "-b" }] } },
    /spec\.detector\.tolerations\[0\]\.value: .*should match/],
  ["a toleration key with a prefix over 253 characters", { detector: { tolerations: [{ key: `${"a".repeat(254)}/b`, operator: "Exists" }] } },
    /spec\.detector\.tolerations\[0\]\.key: .*prefix before '\/' must be at most 253 characters/],
  // Label keys and values a Deployment or NetworkPolicy would refuse.
  ["a nodeSelector key that is no qualified name", { detector: { nodeSelector: { "bad key!": "x" } } },
    /spec\.detector\.nodeSelector: .*label keys must be qualified names/],
  ["a nodeSelector key of 1,000 characters", { console: { nodeSelector: { ["k".repeat(1000)]: "x" } } },
    /spec\.console\.nodeSelector: .*label keys must be qualified names/],
  ["a nodeSelector key name over 63 characters", { detector: { nodeSelector: { [`example.com/${"n".repeat(64)}`]: "x" } } },
    /spec\.detector\.nodeSelector: .*label keys must be qualified names/],
  ["a nodeSelector key with a prefix over 253 characters", { detector: { nodeSelector: { [`${"p".repeat(254)}/name`]: "x" } } },
    /spec\.detector\.nodeSelector: .*label keys must be qualified names/],
  ["a nodeSelector key with an uppercase prefix", { detector: { nodeSelector: { "Example.com/name": "x" } } },
    /spec\.detector\.nodeSelector: .*label keys must be qualified names/],
  ["a nodeSelector value that is no label value", { detector: { nodeSelector: { disk: "ssd!" } } },
    /spec\.detector\.nodeSelector\.disk: .*should match/],
  ["a podSelector key that is no qualified name", { networkPolicy: { ingress: { podSelector: { "bad key!": "x" } } } },
    /spec\.networkPolicy\.ingress\.podSelector: .*label keys must be qualified names/],
  ["a podSelector value that is no label value", { networkPolicy: { metrics: { podSelector: { app: "prom etheus" } } } },
    /spec\.networkPolicy\.metrics\.podSelector\.app: .*should match/],
  // Resources a container would refuse (Kubernetes' validateContainerResourceName and ValidateResourceRequirements).
  ["a resource name that is no container resource", { detector: { resources: { requests: { gpu: 1 } } } },
    /spec\.detector\.resources\.requests: .*resource names must be cpu, memory, ephemeral-storage/],
  ["a misspelt resource name", { console: { enabled: true, resources: { limits: { memroy: "1Gi" } } } },
    /spec\.console\.resources\.limits: .*resource names must be cpu, memory, ephemeral-storage/],
  ["a hugepages name without a page size", { detector: { resources: { limits: { memory: "1Gi", "hugepages-huge": "1Gi" } } } },
    /spec\.detector\.resources\.limits: .*resource names must be/],
  ["a resource name with a malformed prefix", { detector: { resources: { limits: { "Nvidia_com/gpu": 1 } } } },
    /spec\.detector\.resources\.limits: .*resource names must be/],
  ["a request above its limit", { detector: { resources: { requests: { memory: "2Gi" }, limits: { memory: "1Gi" } } } },
    /spec\.detector\.resources\.requests: .*each request must be less than or equal to its limit/],
  ["a cpu request above its limit in other units", { detector: { resources: { requests: { cpu: "1500m" }, limits: { cpu: 1 } } } },
    /spec\.detector\.resources\.requests: .*each request must be less than or equal to its limit/],
  ["an extended resource request without a limit", { detector: { resources: { requests: { "nvidia.com/gpu": 1 } } } },
    /spec\.detector\.resources\.limits: .*cannot be overcommitted/],
  ["an extended resource request below its limit", { detector: { resources: { requests: { "nvidia.com/gpu": 1 }, limits: { "nvidia.com/gpu": 2 } } } },
    /spec\.detector\.resources\.limits: .*cannot be overcommitted/],
  ["a fraction of an extended resource", { detector: { resources: { limits: { "nvidia.com/gpu": "500m" } } } },
    /spec\.detector\.resources\.limits: .*extended resources .* must be whole numbers/],
  ["hugepages without cpu or memory", { detector: { resources: { limits: { "hugepages-2Mi": "64Mi" } } } },
    /spec\.detector\.resources\.limits: .*hugepages need cpu or memory/],
  // A PersistentVolumeClaim the API server would refuse.
  ["a volume size of 0", { storage: { sqlite: { size: "0" } } }, /spec\.storage\.sqlite\.size: .*size must be greater than zero/],
  ["a volume size of 0Gi", { storage: { sqlite: { size: "0.0Gi" } } }, /spec\.storage\.sqlite\.size: .*size must be greater than zero/],
  ["a storage class that is no DNS subdomain", { storage: { sqlite: { storageClassName: "Not_Valid" } } },
    /spec\.storage\.sqlite\.storageClassName: .*should match/],
  // Image references outside distribution/reference's grammar, which the container runtime could not pull.
  ["an image with an uppercase path", { detector: { image: "ghcr.io/Team/minixdr:1" } }, /spec\.detector\.image: .*should match/],
  ["an image with '_-' in its path", { detector: { image: "ghcr.io/a_-b/minixdr:1" } }, /spec\.detector\.image: .*should match/],
  ["an image with a truncated digest", { console: { image: "ghcr.io/minixdr/minixdr@sha256:abc" } }, /spec\.console\.image: .*should match/],
  // A structural schema cannot say "number or string" (x-kubernetes-int-or-string is integer or string, and a
  // schema without a type would hide the map from the CEL rules above): a fraction is written as a string.
  ["a fractional number for a quantity (write \"0.5\" or \"500m\")", { detector: { resources: { requests: { cpu: 0.5 } } } },
    /spec\.detector\.resources\.requests\.cpu: Invalid value: "number": .*integer/],
];

describeCluster("MiniXdr validation at apply time", () => {
  const ns = useNamespace("validation");

  it.each(invalid)("refuses %s, naming the field", async (_what, spec, message) => {
    const err = await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "bad", namespace: ns.name }, spec } as MiniXdr)
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    // Server-side apply reports fields the schema does not declare, or of the wrong type, while building its
    // typed patch: a 500 that still names the field (upstream behaviour). Everything else is a 422.
    expect((err as KubeApiError).status).toBe(/not declared|must be of type|typed patch/.test(message.source) ? 500 : 422);
    expect((err as KubeApiError).message).toMatch(message);
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
