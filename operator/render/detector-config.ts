// The detector's ConfigMap, in the shape docs/contracts.md fixes; its hash rolls the pods when it changes.
import type { V1ConfigMap } from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { childMeta, names, type Child, type ChildObject } from "./meta.ts";
import { anyAddress } from "../../detector/ops/listenAddress.ts";

export const ports = { http: 8080, metrics: 9090 } as const;
export const paths = {
  configDir: "/etc/minixdr/config",
  configFile: "/etc/minixdr/config/detector.json",
  secretsDir: "/etc/minixdr/secrets",
  dataDir: "/var/lib/minixdr",
  model: "/app/detector/ml/model.onnx",
} as const;

export function detectorConfig(spec: MiniXdrSpec): Record<string, unknown> {
  const d = spec.detector.config.detection;
  return {
    component: "detector",
    // An older detector (an image the MiniXdr pins) ignores what it does not know in a file the operator wrote.
    writtenBy: "minixdr-operator",
    listen: { host: anyAddress, port: ports.http, metricsPort: ports.metrics },
    storage: {
      ...(spec.storage.type === "sqlite" ? { driver: "sqlite", path: `${paths.dataDir}/minixdr.db` } : { driver: "postgres" }),
      eventRetentionDays: spec.storage.eventRetentionDays,
    },
    detection: {
      bruteForce: { threshold: d.bruteForceThreshold, windowSeconds: d.bruteForceWindowSeconds },
      passwordSpray: { distinctUsers: d.passwordSprayDistinctUsers, windowSeconds: d.windowSeconds },
      portScan: { distinctPorts: d.portScanDistinctPorts, windowSeconds: d.portScanWindowSeconds ?? d.windowSeconds },
      exfiltration: { bytesOut: d.exfiltrationBytes, windowSeconds: d.exfiltrationWindowSeconds ?? d.windowSeconds },
      loginAfterFailures: { failures: d.loginAfterFailuresThreshold, windowSeconds: d.loginAfterFailuresWindowSeconds },
      toolDownload: { windowSeconds: d.toolDownloadWindowSeconds },
      kubernetes: { windowSeconds: d.kubernetesWindowSeconds, operatorIdentities: d.kubernetesOperatorIdentities },
      anomalyThreshold: d.anomalyThreshold,
      suppressions: d.suppressions,
    },
    model: { path: paths.model },
    containment: { mode: spec.detector.config.containmentMode },
    tenants: spec.detector.config.tenants,
  };
}

export function renderDetectorConfigMap(cr: MiniXdr, spec: MiniXdrSpec): Child<V1ConfigMap> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMeta(cr, names.config(cr), "detector"),
    data: { "detector.json": JSON.stringify(detectorConfig(spec), null, 2) + "\n" },
  };
}

/** Short content hash put on the pod template, so a config change rolls the pods. */
export function configHash(configMap: ChildObject): string {
  return createHash("sha256").update(JSON.stringify(configMap.data)).digest("hex").slice(0, 16);
}
