import { describe, expect, it } from "vitest";
import type { MiniXdr, MiniXdrSpecInput } from "../api/minixdr.ts";
import { withDefaults } from "../api/minixdr.ts";
import { configHash, detectorConfig, renderDetectorConfigMap } from "./detector-config.ts";
import { effectiveBudget } from "./disruption-budgets.ts";
import type { ChildObject } from "./meta.ts";
import { render } from "./render.ts";

const cr = (spec: MiniXdrSpecInput, extra: Partial<MiniXdr["metadata"]> = {}): MiniXdr => ({
  apiVersion: "xdr.minixdr.io/v1alpha1",
  kind: "MiniXdr",
  metadata: { name: "xdr", namespace: "sec", uid: "u-1", ...extra },
  spec,
});
const objects = (m: MiniXdr) => render(m).map((c) => c.object);
const find = (m: MiniXdr, kind: string, name?: string) => objects(m).find((o) => o.kind === kind && (!name || o.metadata.name === name));
const podSpec = (d: ChildObject | undefined) => (d?.spec as { template: { spec: Record<string, any> } }).template.spec;

const postgres = { storage: { type: "postgres" as const, postgres: { urlSecretRef: { name: "db", key: "url" } } } };

describe("render", () => {
  it("leaves the pods' uid, gid and fsGroup to the platform when told to, and changes nothing else", () => {
    const m = cr({ console: { enabled: true } });
    const fixed = render(m).map((c) => c.object);
    const platform = render(m, withDefaults(m.spec), { podUserIds: "platform" }).map((c) => c.object);
    expect(platform.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(fixed.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const [i, o] of fixed.entries()) {
      if (o.kind !== "Deployment") {
        expect(platform[i]).toEqual(o);
        continue;
      }
      expect(podSpec(o).securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
      expect(podSpec(platform[i]).securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      const withoutIds = structuredClone(o);
      podSpec(withoutIds).securityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
      expect(platform[i]).toEqual(withoutIds);
    }
  });

  it("sizes the detector's heap from its memory limit, so V8 collects before the container is OOM-killed", () => {
    const env = (m: MiniXdr, name: string) => (podSpec(find(m, "Deployment", name)).containers[0].env as { name: string; value: string }[]);
    const nodeOptions = (m: MiniXdr) => env(m, "xdr-detector").find((e) => e.name === "NODE_OPTIONS")?.value;
    // The default limit (768Mi): an old generation of half of it, semi-spaces of 16 MiB.
    expect(nodeOptions(cr({}))).toBe("--max-old-space-size=384 --max-semi-space-size=16");
    expect(nodeOptions(cr({ detector: { resources: { limits: { memory: "2Gi" } } } }))).toBe("--max-old-space-size=1024 --max-semi-space-size=16");
    expect(nodeOptions(cr({ detector: { resources: { limits: { memory: "256Mi" } } } }))).toBe("--max-old-space-size=128 --max-semi-space-size=4");
    // No memory limit: Node's own sizing.
    expect(nodeOptions(cr({ detector: { resources: { requests: { memory: "256Mi" } } } }))).toBeUndefined();
    expect(env(cr({ console: { enabled: true } }), "xdr-console").map((e) => e.name)).not.toContain("NODE_OPTIONS");
  });

  it("keeps empty strings the user gave: label values, and a storage class of \"\" (no class, not the default one)", () => {
    const m = cr({
      detector: {
        nodeSelector: { "node-role.kubernetes.io/infra": "" },
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { spread: "" } } }] } },
      },
      storage: { type: "sqlite", sqlite: { storageClassName: "" } },
    });
    const pod = podSpec(find(m, "Deployment", "xdr-detector"));
    expect(pod.nodeSelector).toEqual({ "node-role.kubernetes.io/infra": "" });
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector).toEqual({ matchLabels: { spread: "" } });
    expect((find(m, "PersistentVolumeClaim")!.spec as { storageClassName?: string }).storageClassName).toBe("");
  });

  it("never copies the MiniXdr's labels or annotations onto children, and owns every child", () => {
    const m = cr({ console: { enabled: true } }, { labels: { "argocd.argoproj.io/instance": "sec" }, annotations: { "team": "blue" } });
    for (const o of objects(m)) {
      expect(Object.keys(o.metadata.labels)).not.toContain("argocd.argoproj.io/instance");
      expect(o.metadata.annotations ?? {}).not.toHaveProperty("team");
      expect(o.metadata.labels["app.kubernetes.io/managed-by"]).toBe("minixdr-operator");
      expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "MiniXdr", uid: "u-1", controller: true })]);
    }
  });

  it("runs pods under pod-security restricted with no service-account token", () => {
    const spec = podSpec(find(cr({}), "Deployment"));
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(spec.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] },
    });
  });

  it("leaves replicas to the HorizontalPodAutoscaler when autoscaling is on", () => {
    const on = cr({ ...postgres, detector: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 7 } } });
    expect((find(on, "Deployment")!.spec as object)).not.toHaveProperty("replicas");
    expect(find(on, "HorizontalPodAutoscaler")!.spec).toMatchObject({ minReplicas: 3, maxReplicas: 7 });
    const off = cr({ ...postgres, detector: { replicas: 3 } });
    expect(find(off, "Deployment")!.spec).toMatchObject({ replicas: 3 });
    expect(find(off, "HorizontalPodAutoscaler")).toBeUndefined();
  });

  it("rolls the pods when the detector config changes", () => {
    const hash = (m: MiniXdr) => podSpec(find(m, "Deployment")) && (find(m, "Deployment")!.spec as any).template.metadata.annotations["xdr.minixdr.io/config-hash"];
    const a = hash(cr({}));
    expect(a).toBe(configHash(renderDetectorConfigMap(cr({}), withDefaults({}))));
    expect(hash(cr({ detector: { config: { detection: { bruteForceThreshold: 9 } } } }))).not.toBe(a);
    expect(hash(cr({ detector: { image: "example.com/x:2" } }))).toBe(a);
  });

  it("writes the detector config in the documented contract shape", () => {
    const cm = find(cr({ detector: { config: { detection: { bruteForceThreshold: 8 }, containmentMode: "block" } } }), "ConfigMap")!;
    const config = JSON.parse((cm.data as Record<string, string>)["detector.json"]!);
    expect(config).toMatchObject({ storage: { driver: "sqlite" }, detection: { bruteForce: { threshold: 8, windowSeconds: 60 } }, containment: { mode: "block" } });
  });

  it("never renders a PodDisruptionBudget that makes a single replica unevictable", () => {
    expect(effectiveBudget({ minAvailable: 1 }, 1)).toEqual({ maxUnavailable: 1 });
    expect(effectiveBudget({ minAvailable: "100%" }, 3)).toEqual({ maxUnavailable: 1 });
    expect(effectiveBudget({ minAvailable: 3 }, 3)).toEqual({ minAvailable: 2 });
    expect(effectiveBudget({ minAvailable: 1 }, 3)).toEqual({ minAvailable: 1 });
    expect(effectiveBudget({}, 3)).toEqual({ maxUnavailable: 1 });
    // Percentages round up: 90% of 2 pods, or of 9, is all of them; of 10 it leaves one.
    expect(effectiveBudget({ minAvailable: "90%" }, 2)).toEqual({ maxUnavailable: 1 });
    expect(effectiveBudget({ minAvailable: "90%" }, 9)).toEqual({ maxUnavailable: 1 });
    expect(effectiveBudget({ minAvailable: "90%" }, 10)).toEqual({ minAvailable: "90%" });
    expect(effectiveBudget({ minAvailable: "50%" }, 2)).toEqual({ minAvailable: "50%" });
    // A stored object from before maxUnavailable 0 was refused.
    expect(effectiveBudget({ maxUnavailable: 0 }, 3)).toEqual({ maxUnavailable: 1 });
    expect(effectiveBudget({ maxUnavailable: "0%" }, 3)).toEqual({ maxUnavailable: 1 });
    expect(effectiveBudget({ maxUnavailable: "25%" }, 3)).toEqual({ maxUnavailable: "25%" });
    expect(find(cr({ detector: { disruptionBudget: { enabled: true, minAvailable: 1 } } }), "PodDisruptionBudget")!.spec)
      .toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow" });
  });

  it("denies all ingress by default and allows the API, metrics, DNS and the database explicitly", () => {
    const m = cr({ ...postgres, detector: { replicas: 2 }, networkPolicy: { ingress: { namespaces: ["ingress-nginx"] }, metrics: { namespaces: ["monitoring"] }, egress: { databaseCidrs: ["10.1.0.0/16"] } } });
    const deny = find(m, "NetworkPolicy", "xdr-default-deny")!;
    expect(deny.spec).toEqual({ podSelector: { matchLabels: { "app.kubernetes.io/name": "minixdr", "app.kubernetes.io/instance": "xdr" } }, policyTypes: ["Ingress", "Egress"] });
    const detector = find(m, "NetworkPolicy", "xdr-detector")!.spec as any;
    expect(detector.ingress[0].from).toEqual([{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ingress-nginx"] }] } }]);
    expect(detector.ingress[1].ports).toEqual([{ protocol: "TCP", port: 9090 }]);
    expect(detector.egress).toContainEqual({ to: [{ ipBlock: { cidr: "10.1.0.0/16" } }], ports: [{ protocol: "TCP", port: 5432 }] });
    expect(detector.egress[0].to[0].namespaceSelector.matchLabels).toEqual({ "kubernetes.io/metadata.name": "kube-system" });
    expect(objects(cr({ networkPolicy: { enabled: false } })).filter((o) => o.kind === "NetworkPolicy")).toEqual([]);
    // With no allow list, the API and metrics ports are open to this namespace only ({} selects every pod in it).
    const basic = find(cr({}), "NetworkPolicy", "xdr-detector")!.spec as any;
    expect(basic.ingress.map((r: { from: unknown }) => r.from)).toEqual([[{ podSelector: {} }], [{ podSelector: {} }]]);
  });

  it("lets DNS through where the cluster's DNS listens: other ports (OpenShift's 5353) and node-local caches on the host network", () => {
    const dns = (m: MiniXdr, name: string) => (find(m, "NetworkPolicy", name)!.spec as any).egress[0];
    const kubeSystem = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } };
    expect(dns(cr({}), "xdr-detector")).toEqual({ to: [kubeSystem], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] });
    const openshift = cr({ console: { enabled: true }, networkPolicy: { egress: { dnsNamespace: "openshift-dns", dnsPorts: [5353] } } });
    for (const name of ["xdr-detector", "xdr-console"]) {
      expect(dns(openshift, name)).toEqual({
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "openshift-dns" } } }],
        ports: [{ protocol: "UDP", port: 5353 }, { protocol: "TCP", port: 5353 }],
      });
    }
    const nodeLocal = dns(cr({ networkPolicy: { egress: { dnsCidrs: ["169.254.20.10/32"], dnsPorts: [53, 53] } } }), "xdr-detector");
    expect(nodeLocal).toEqual({ to: [kubeSystem, { ipBlock: { cidr: "169.254.20.10/32" } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] });
  });

  it("reads an allow list with nothing in it as nobody, never as everybody", () => {
    // A rule with an empty `from` would admit every source: the rule is left out instead.
    for (const empty of [{}, { namespaces: [] }, { cidrs: [] }]) {
      const spec = find(cr({ networkPolicy: { ingress: empty, metrics: empty } }), "NetworkPolicy", "xdr-detector")!.spec as Record<string, unknown>;
      expect(spec, JSON.stringify(empty)).not.toHaveProperty("ingress");
      expect(spec.policyTypes).toEqual(["Ingress", "Egress"]);
    }
    // With the console on, only the console reaches the API.
    const withConsole = find(cr({ console: { enabled: true }, networkPolicy: { ingress: {} } }), "NetworkPolicy", "xdr-detector")!.spec as any;
    expect(withConsole.ingress[0].from).toEqual([{ podSelector: { matchLabels: { "app.kubernetes.io/name": "minixdr", "app.kubernetes.io/instance": "xdr", "app.kubernetes.io/component": "console" } } }]);
    // An empty pod selector selects every pod, written as the API server stores it.
    const everyPod = find(cr({ networkPolicy: { metrics: { namespaces: ["monitoring"], podSelector: {} } } }), "NetworkPolicy", "xdr-detector")!.spec as any;
    expect(everyPod.ingress[1].from[0].podSelector).toEqual({});
  });

  it("keeps who reaches the console (networkPolicy.console) apart from who reaches the detector's API (networkPolicy.ingress)", () => {
    const from = (m: MiniXdr, name: string) => ((find(m, "NetworkPolicy", name)!.spec as any).ingress ?? []).map((r: { from: unknown }) => r.from);
    const inNamespaces = (...values: string[]) => ({ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values }] } });
    const consolePods = { podSelector: { matchLabels: { "app.kubernetes.io/name": "minixdr", "app.kubernetes.io/instance": "xdr", "app.kubernetes.io/component": "console" } } };
    // Events come from the honeypots, analysts through the ingress controller: neither reaches the other's port.
    const split = cr({ console: { enabled: true }, networkPolicy: { ingress: { namespaces: ["honeypots"] }, console: { namespaces: ["ingress-nginx"] } } });
    expect(from(split, "xdr-console")).toEqual([[inNamespaces("ingress-nginx")]]);
    expect(from(split, "xdr-detector")[0]).toEqual([consolePods, inNamespaces("honeypots")]);
    // The API opened to the honeypots leaves the console to this namespace only.
    expect(from(cr({ console: { enabled: true }, networkPolicy: { ingress: { namespaces: ["honeypots"] } } }), "xdr-console")).toEqual([[{ podSelector: {} }]]);
    // A console list with nothing in it: nobody reaches the console, while the API keeps its own list.
    for (const empty of [{}, { namespaces: [] }, { cidrs: [] }]) {
      const m = cr({ console: { enabled: true }, networkPolicy: { console: empty } });
      expect(find(m, "NetworkPolicy", "xdr-console")!.spec, JSON.stringify(empty)).not.toHaveProperty("ingress");
      expect(from(m, "xdr-detector")[0]).toEqual([consolePods, { podSelector: {} }]);
    }
    // The console's list opens nothing on the detector.
    const consoleOnly = cr({ console: { enabled: true }, networkPolicy: { ingress: {}, console: { namespaces: ["ingress-nginx"], cidrs: ["10.0.0.0/8"] } } });
    expect(from(consoleOnly, "xdr-detector")[0]).toEqual([consolePods]);
    expect(from(consoleOnly, "xdr-console")).toEqual([[inNamespaces("ingress-nginx"), { ipBlock: { cidr: "10.0.0.0/8" } }]]);
  });

  it("gives the port-scan and large-transfer rules the shared window unless each has its own", () => {
    const windows = (detection: Record<string, number>) => {
      const c = detectorConfig(withDefaults({ detector: { config: { detection } } })).detection as Record<string, { windowSeconds: number }>;
      return [c.passwordSpray!.windowSeconds, c.portScan!.windowSeconds, c.exfiltration!.windowSeconds];
    };
    expect(windows({})).toEqual([300, 300, 300]);
    expect(windows({ windowSeconds: 450 })).toEqual([450, 450, 450]);
    expect(windows({ windowSeconds: 450, portScanWindowSeconds: 60 })).toEqual([450, 60, 450]);
    expect(windows({ exfiltrationWindowSeconds: 3600 })).toEqual([300, 300, 3600]);
  });

  it("generates a Secret only when neither existingSecret nor externalSecret is set", () => {
    expect(render(cr({})).find((c) => c.object.kind === "Secret")?.createOnly).toBe(true);
    expect(find(cr({ secrets: { existingSecret: "mine" } }), "Secret")).toBeUndefined();
    const es = cr({ secrets: { externalSecret: { secretStoreRef: { name: "vault", kind: "ClusterSecretStore" }, remoteKeys: { jwtSigningKey: "a", adminPasswordHash: "b", ingestToken: "c" } } } });
    expect(find(es, "Secret")).toBeUndefined();
    expect(find(es, "ExternalSecret")!.spec).toMatchObject({ secretStoreRef: { name: "vault", kind: "ClusterSecretStore" }, target: { name: "xdr-secrets-external" } });
  });

  it("never names an object of one instance as another instance in the namespace names one of its own", () => {
    const store = { secretStoreRef: { name: "vault", kind: "ClusterSecretStore" as const }, remoteKeys: { jwtSigningKey: "a", adminPasswordHash: "b", ingestToken: "c" } };
    const full: MiniXdrSpecInput = { console: { enabled: true }, detector: { autoscaling: { enabled: true, maxReplicas: 3 } }, ...postgres };
    /** Every name an instance gives or uses, by kind (an ExternalSecret's target is a Secret's name). */
    const named = (m: MiniXdr) => new Set(objects(m).flatMap((o) => [`${o.kind}/${o.metadata.name}`,
      ...(o.kind === "ExternalSecret" ? [`Secret/${(o.spec as { target: { name: string } }).target.name}`] : [])]));
    const suffixes = new Set([...named(cr({ ...full, secrets: { externalSecret: store } })), ...named(cr(full)), ...named(cr({ console: { enabled: true } }))]
      .map((n) => n.replace("/xdr-", "/")));
    // Instance "xdr-<tail>" names "<kind>/xdr-<tail>-<suffix>": the same as instance xdr's "<kind>/xdr-<other suffix>" only if
    // that other suffix ends with "-<suffix>".
    const clashes = [...suffixes].flatMap((a) => [...suffixes].filter((b) => a !== b && a.startsWith(b.split("/")[0]! + "/") && a.endsWith(`-${b.split("/")[1]!}`)).map((b) => `${a} ~ ${b}`));
    expect(clashes).toEqual([]);
    // The case a hunt met: x with an ExternalSecret, x-external with generated secrets.
    const x = cr({ secrets: { externalSecret: store } }, { name: "shop" });
    const xExternal = cr({}, { name: "shop-external" });
    expect([...named(x)].filter((n) => named(xExternal).has(n))).toEqual([]);
  });

  it("renders the console with the same machinery only when enabled", () => {
    expect(find(cr({}), "Deployment", "xdr-console")).toBeUndefined();
    const on = cr({ console: { enabled: true, replicas: 2 } });
    expect(find(on, "Deployment", "xdr-console")!.spec).toMatchObject({ replicas: 2 });
    expect(find(on, "Service", "xdr-console")).toBeDefined();
    expect(find(on, "ServiceAccount", "xdr-console")).toBeDefined();
  });

  it("refuses an invalid spec with the field named", () => {
    expect(() => withDefaults({ detector: { replicas: 0 } })).toThrow(/^spec\.detector\.replicas: .*>=1/);
    expect(() => withDefaults({ detector: { replicaz: 2 } } as never)).toThrow(/spec\.detector\.replicaz: field not declared in schema/);
  });
});
