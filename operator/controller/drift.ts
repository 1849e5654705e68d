// Decides whether a child needs an apply: only when a field we render differs on the live object.
// Fields the API server defaults, or other managers own, are not ours and never cause a write.

import { quantityValue } from "../api/quantity.ts";

function sameScalar(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  if (typeof desired === "string" && typeof live === "string") {
    const a = quantityValue(desired);
    const b = quantityValue(live);
    return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-12;
  }
  return false;
}

/** Paths of desired fields that are missing or different on the live object; empty when nothing needs applying. */
export function driftedFields(desired: unknown, live: unknown, path = ""): string[] {
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return [path || "."];
    return desired.flatMap((d, i) => driftedFields(d, live[i], `${path}[${i}]`));
  }
  if (desired !== null && typeof desired === "object") {
    if (live === null || typeof live !== "object" || Array.isArray(live)) return [path || "."];
    const entries = Object.entries(desired as Record<string, unknown>);
    // An empty map we render (e.g. a NetworkPolicy podSelector: {}) must exist on the live object too.
    if (entries.length === 0) return [];
    return entries.flatMap(([k, v]) => driftedFields(v, (live as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return sameScalar(desired, live) ? [] : [path || "."];
}
