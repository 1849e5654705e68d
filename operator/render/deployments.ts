// A component's Deployment: pod-security restricted, config hash on the template, replicas left to the HPA when on.
import type { V1Container, V1ContainerPort, V1Deployment, V1EnvVar, V1PodSecurityContext, V1PodSpec, V1SecurityContext, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { ConsoleSpec, DetectorSpec, MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { quantityValue } from "../api/quantity.ts";
import { paths, ports } from "./detector-config.ts";
import { childMeta, compact, names, selectorLabels, type Child, type Component } from "./meta.ts";
import { secretsVolume } from "./secrets.ts";
import { detectorEndpoint } from "./services.ts";

export const configHashAnnotation = "xdr.minixdr.io/config-hash";
const uid = 1000;

/**
 * Who sets the pods' user and group ids. `fixed`: uid, gid and fsGroup 1000, the image's user, with the SQLite volume
 * writable by it whatever the volume's owner. `platform`: none of them, for a platform that assigns its own and refuses
 * others: OpenShift's restricted-v2 SecurityContextConstraints gives each namespace a uid range and an fsGroup from it,
 * and refused a pod asking for 1000. The operator picks one (`--pod-user-ids`, operator/controller/pod-user-ids.ts).
 */
export type PodUserIds = "fixed" | "platform";

export interface RenderOptions {
  podUserIds: PodUserIds;
}

export const defaultRenderOptions: RenderOptions = { podUserIds: "fixed" };

/** Pod-security "restricted": non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp. */
export const restrictedPodSecurityContext: V1PodSecurityContext = {
  runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" },
};

/** The same without ids: the platform's, checked non-root by the kubelet (runAsNonRoot) as the image's would be. */
const platformIdsPodSecurityContext: V1PodSecurityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
export const restrictedContainerSecurityContext: V1SecurityContext = {
  allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] },
};

function quantities(map: Record<string, string | number> | undefined): Record<string, string> | undefined {
  return map ? Object.fromEntries(Object.entries(map).map(([k, v]) => [k, String(v)])) : undefined;
}

const defaultResources = {
  // The ingest benchmark peaks near 560 MB under a flood of 1000-event batches with the heap ceiling below
  // (bench/results/findings.md).
  detector: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "768Mi" } },
  console: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
};

/**
 * The detector's V8 heap from its container's memory limit: an old generation of half the limit (what V8 derives
 * from the memory it sees, on 64-bit without pointer compression, as Node runs) and semi-spaces of at most 16 MiB and a 48th of
 * the limit (the young generation is three of them). Set explicitly, the ceiling holds whatever Node's heuristics become, so V8
 * collects harder well before the kernel's OOM killer acts; the rest of the limit is for what is not heap (the ONNX
 * runtime, SQLite's page cache, code). Nothing without a memory limit.
 */
export function detectorNodeOptions(memoryLimit: string | number | undefined): string | undefined {
  const bytes = memoryLimit === undefined ? undefined : quantityValue(String(memoryLimit));
  if (bytes === undefined || !(bytes > 0)) return undefined;
  const mib = bytes / 2 ** 20;
  // V8 takes semi-spaces in powers of two: the largest one within 16 MiB and a 48th of the limit.
  const semiSpace = 2 ** Math.max(0, Math.floor(Math.log2(Math.min(16, Math.max(1, mib / 48)))));
  return `--max-old-space-size=${Math.max(64, Math.floor(mib / 2))} --max-semi-space-size=${semiSpace}`;
}

function probes(): Pick<V1Container, "livenessProbe" | "readinessProbe"> {
  return {
    livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
  };
}

function podSpec(cr: MiniXdr, spec: MiniXdrSpec, component: Component, options: RenderOptions): V1PodSpec {
  const c: DetectorSpec | ConsoleSpec = component === "detector" ? spec.detector : spec.console;
  const volumeMounts: V1VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  const volumes: V1Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }];
  const env: V1EnvVar[] = [{ name: "MINIXDR_LOG_LEVEL", value: spec.detector.config.logLevel }];
  const containerPorts: V1ContainerPort[] = [{ name: "http", containerPort: ports.http, protocol: "TCP" }];
  const resources = c.resources ? { requests: quantities(c.resources.requests), limits: quantities(c.resources.limits) } : defaultResources[component];
  if (component === "detector") {
    containerPorts.push({ name: "metrics", containerPort: ports.metrics, protocol: "TCP" });
    env.push({ name: "MINIXDR_CONFIG_FILE", value: paths.configFile }, { name: "MINIXDR_SECRETS_DIR", value: paths.secretsDir });
    const nodeOptions = detectorNodeOptions(resources.limits?.memory);
    if (nodeOptions) env.push({ name: "NODE_OPTIONS", value: nodeOptions });
    volumeMounts.push({ name: "config", mountPath: paths.configDir, readOnly: true }, { name: "secrets", mountPath: paths.secretsDir, readOnly: true });
    volumes.push({ name: "config", configMap: { name: names.config(cr) } }, secretsVolume(cr, spec));
    if (spec.storage.type === "sqlite") {
      volumeMounts.push({ name: "data", mountPath: paths.dataDir });
      volumes.push({ name: "data", persistentVolumeClaim: { claimName: names.data(cr) } });
    }
  } else {
    env.push({ name: "MINIXDR_DETECTOR_URL", value: detectorEndpoint(cr) });
  }
  return {
    serviceAccountName: names.component(cr, component),
    automountServiceAccountToken: false,
    securityContext: options.podUserIds === "platform" ? platformIdsPodSecurityContext : restrictedPodSecurityContext,
    containers: [{
      name: component,
      image: c.image,
      imagePullPolicy: c.imagePullPolicy,
      args: [component],
      ports: containerPorts,
      env,
      resources,
      securityContext: restrictedContainerSecurityContext,
      ...probes(),
      volumeMounts,
    }],
    volumes,
    nodeSelector: c.nodeSelector,
    tolerations: c.tolerations,
    affinity: c.affinity,
    // A constraint that names no pods to count counts the component's own (without a selector it would count none).
    topologySpreadConstraints: c.topologySpreadConstraints?.map((t) => ({ ...t, labelSelector: t.labelSelector ?? { matchLabels: selectorLabels(cr, component) } })),
    priorityClassName: c.priorityClassName,
    imagePullSecrets: c.imagePullSecrets,
  };
}

export function renderDeployment(cr: MiniXdr, spec: MiniXdrSpec, component: Component, configHash?: string, options: RenderOptions = defaultRenderOptions): Child<V1Deployment> {
  const c = component === "detector" ? spec.detector : spec.console;
  const autoscaled = component === "detector" && spec.detector.autoscaling.enabled;
  // SQLite on a ReadWriteOnce claim has one writer: the old pod must stop before the new one starts.
  const strategy = component === "detector" && spec.storage.type === "sqlite"
    ? { type: "Recreate" }
    : { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
  return compact({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: childMeta(cr, names.component(cr, component), component),
    spec: {
      ...(autoscaled ? {} : { replicas: c.replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(cr, component) },
      strategy,
      template: {
        metadata: {
          labels: { ...c.podLabels, ...selectorLabels(cr, component), "app.kubernetes.io/managed-by": "minixdr-operator", "app.kubernetes.io/part-of": "minixdr" },
          annotations: configHash || c.podAnnotations ? { ...c.podAnnotations, ...(configHash ? { [configHashAnnotation]: configHash } : {}) } : undefined,
        },
        spec: podSpec(cr, spec, component, options),
      },
    },
  });
}
