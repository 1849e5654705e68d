// A component's Deployment: pod-security restricted, config hash on the template, replicas left to the HPA when on.
import type { ConsoleSpec, DetectorSpec, MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { paths, ports } from "./detector-config.ts";
import { childMeta, compact, names, selectorLabels, type ChildObject, type Component } from "./meta.ts";
import { secretsVolume } from "./secrets.ts";
import { detectorEndpoint } from "./services.ts";

export const configHashAnnotation = "xdr.minixdr.io/config-hash";
const uid = 1000;

/** Pod-security "restricted": non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp. */
export const restrictedPodSecurityContext = {
  runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" },
};
export const restrictedContainerSecurityContext = {
  allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] },
};

function quantities(map: Record<string, string | number> | undefined): Record<string, string> | undefined {
  return map ? Object.fromEntries(Object.entries(map).map(([k, v]) => [k, String(v)])) : undefined;
}

const defaultResources = {
  // The ingest benchmark peaks near 460 MB under a flood of 1000-event batches (bench/results/findings.md).
  detector: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "768Mi" } },
  console: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
};

function probes() {
  return {
    livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
  };
}

function podSpec(cr: MiniXdr, spec: MiniXdrSpec, component: Component): Record<string, unknown> {
  const c: DetectorSpec | ConsoleSpec = component === "detector" ? spec.detector : spec.console;
  const volumeMounts: Record<string, unknown>[] = [{ name: "tmp", mountPath: "/tmp" }];
  const volumes: Record<string, unknown>[] = [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }];
  const env: { name: string; value: string }[] = [{ name: "MINIXDR_LOG_LEVEL", value: spec.detector.config.logLevel }];
  const containerPorts: { name: string; containerPort: number; protocol: string }[] = [{ name: "http", containerPort: ports.http, protocol: "TCP" }];
  if (component === "detector") {
    containerPorts.push({ name: "metrics", containerPort: ports.metrics, protocol: "TCP" });
    env.push({ name: "MINIXDR_CONFIG_FILE", value: paths.configFile }, { name: "MINIXDR_SECRETS_DIR", value: paths.secretsDir });
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
    securityContext: restrictedPodSecurityContext,
    containers: [{
      name: component,
      image: c.image,
      imagePullPolicy: c.imagePullPolicy,
      args: [component],
      ports: containerPorts,
      env,
      resources: c.resources ? { requests: quantities(c.resources.requests), limits: quantities(c.resources.limits) } : defaultResources[component],
      securityContext: restrictedContainerSecurityContext,
      ...probes(),
      volumeMounts,
    }],
    volumes,
    nodeSelector: c.nodeSelector,
    tolerations: c.tolerations,
    affinity: c.affinity,
  };
}

export function renderDeployment(cr: MiniXdr, spec: MiniXdrSpec, component: Component, configHash?: string): ChildObject {
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
          labels: { ...selectorLabels(cr, component), "app.kubernetes.io/managed-by": "minixdr-operator", "app.kubernetes.io/part-of": "minixdr" },
          annotations: configHash ? { [configHashAnnotation]: configHash } : undefined,
        },
        spec: podSpec(cr, spec, component),
      },
    },
  });
}
