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

/** A value the API server stores as absent (omitempty), so its absence on the live object is no difference. */
const storedAsAbsent = (v: unknown) => v === null || v === "" || (Array.isArray(v) && v.length === 0);

/** The name of every item when each one is an object with a distinct string `name` (containers, env, ports, volumes). */
function names(items: unknown[]): string[] | undefined {
  const out: string[] = [];
  for (const item of items) {
    const name = item !== null && typeof item === "object" ? (item as { name?: unknown }).name : undefined;
    if (typeof name !== "string" || out.includes(name)) return undefined;
    out.push(name);
  }
  return out;
}

/** Paths of desired fields that are missing or different on the live object; empty when nothing needs applying. */
export function driftedFields(desired: unknown, live: unknown, path = ""): string[] {
  if (live === undefined && storedAsAbsent(desired)) return [];
  if (Array.isArray(desired)) {
    if (!Array.isArray(live)) return [path || "."];
    // Lists keyed by name are merged by server-side apply: an item another manager added (kubectl set env, a port
    // without a name, a second mount of one volume) stays theirs, and is no difference of ours. Each of our items
    // must be there as we render it: some live item of its name matches it.
    const keys = desired.length > 0 ? names(desired) : undefined;
    const liveItems = live as unknown[];
    if (keys) {
      return keys.flatMap((name, i) => {
        const candidates = liveItems.filter((l) => l !== null && typeof l === "object" && (l as { name?: unknown }).name === name);
        if (candidates.length === 0) return [`${path}[${name}]`];
        const drifts = candidates.map((c) => driftedFields(desired[i], c, `${path}[${name}]`));
        return drifts.find((d) => d.length === 0) ?? drifts[0]!;
      });
    }
    if (live.length !== desired.length) return [path || "."];
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
