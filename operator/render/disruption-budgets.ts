// PodDisruptionBudgets that protect availability but can never wedge a drain.
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { childMeta, names, selectorLabels, type Child, type Component } from "./meta.ts";

type Budget = { minAvailable: number | string } | { maxUnavailable: number | string };

/**
 * The budget to render. With one replica, or a budget that would leave no pod evictable at the fewest replicas,
 * it falls back to one pod at a time, so no instance ever blocks node maintenance. (A percentage minAvailable is
 * rounded up by the disruption controller, so "90%" of 2 pods is 2; more replicas only make a budget looser.)
 */
export function effectiveBudget(requested: { minAvailable?: number | string; maxUnavailable?: number | string }, fewestReplicas: number): Budget {
  if (fewestReplicas <= 1) return { maxUnavailable: 1 };
  const min = requested.minAvailable;
  if (min === undefined) {
    const max = requested.maxUnavailable ?? 1;
    // Refused at apply time; an object stored before that rule still never wedges a drain.
    return max === 0 || (typeof max === "string" && parseInt(max, 10) === 0) ? { maxUnavailable: 1 } : { maxUnavailable: max };
  }
  if (typeof min === "number") return min >= fewestReplicas ? { minAvailable: fewestReplicas - 1 } : { minAvailable: min };
  return Math.ceil((fewestReplicas * parseInt(min, 10)) / 100) >= fewestReplicas ? { maxUnavailable: 1 } : { minAvailable: min };
}

export function renderPodDisruptionBudget(cr: MiniXdr, spec: MiniXdrSpec, component: Component): Child<V1PodDisruptionBudget> | undefined {
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
