// PodDisruptionBudgets that protect availability but can never wedge a drain.
import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { childMeta, names, selectorLabels, type ChildObject, type Component } from "./meta.ts";

type Budget = { minAvailable: number | string } | { maxUnavailable: number | string };

/**
 * The budget to render. With one replica, or a minAvailable that would leave no pod evictable,
 * it falls back to maxUnavailable: 1, so a single-replica instance never blocks node maintenance.
 */
export function effectiveBudget(requested: { minAvailable?: number | string; maxUnavailable?: number | string }, fewestReplicas: number): Budget {
  if (fewestReplicas <= 1) return { maxUnavailable: 1 };
  const min = requested.minAvailable;
  if (min === undefined) return { maxUnavailable: requested.maxUnavailable ?? 1 };
  if (typeof min === "number") return min >= fewestReplicas ? { minAvailable: fewestReplicas - 1 } : { minAvailable: min };
  return parseInt(min, 10) >= 100 ? { maxUnavailable: 1 } : { minAvailable: min };
}

export function renderPodDisruptionBudget(cr: MiniXdr, spec: MiniXdrSpec, component: Component): ChildObject | undefined {
  if (component === "console" && !spec.console.enabled) return undefined;
  const c = component === "detector" ? spec.detector : spec.console;
  if (!c.disruptionBudget.enabled) return undefined;
  const fewest = component === "detector" && spec.detector.autoscaling.enabled ? spec.detector.autoscaling.minReplicas : c.replicas;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: childMeta(cr, names.component(cr, component), component),
    spec: {
      ...effectiveBudget(c.disruptionBudget, fewest),
      selector: { matchLabels: selectorLabels(cr, component) },
      // Pods that are not ready never hold up an eviction.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}
