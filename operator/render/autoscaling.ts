import type { V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { childMeta, compact, names, type Child } from "./meta.ts";

export function renderHorizontalPodAutoscaler(cr: MiniXdr, spec: MiniXdrSpec): Child<V2HorizontalPodAutoscaler> | undefined {
  const a = spec.detector.autoscaling;
  if (!a.enabled) return undefined;
  const cpu = a.targetCPUUtilizationPercentage ?? (a.targetMemoryUtilizationPercentage ? undefined : 80);
  const metrics = [
    ...(cpu ? [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpu } } }] : []),
    ...(a.targetMemoryUtilizationPercentage
      ? [{ type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: a.targetMemoryUtilizationPercentage } } }]
      : []),
  ];
  return compact({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: childMeta(cr, names.component(cr, "detector"), "detector"),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: names.component(cr, "detector") },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics,
      behavior: a.behavior,
    },
  });
}
