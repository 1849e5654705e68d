// The model's features of a window are computed in one walk, each event judged by its kind once. Here they are checked
// against the function as first written (a copy, kept as the definition) on random windows of every kind of event the
// features read, with fields present or missing.
import { describe, expect, it } from "vitest";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { eventKinds } from "../events/securityEvent.ts";
import type { SourceBehaviour } from "../ml/features.ts";
import { sourceBehaviourOf } from "./sourceBehaviourOf.ts";

function sourceBehaviourByDefinition(events: SecurityEvent[], windowSeconds: number): SourceBehaviour {
  const usernames = new Set<string>();
  const passwords = new Set<string>();
  const destPorts = new Set<number>();
  const destIps = new Set<string>();
  const b: SourceBehaviour = {
    windowSeconds, events: events.length, failedLogins: 0, successfulLogins: 0, distinctUsernames: 0, distinctPasswords: 0,
    commands: 0, downloads: 0, distinctDestPorts: 0, distinctDestIps: 0, flows: 0, bytesOut: 0, bytesIn: 0, alerts: 0,
    maxAlertSeverity: 0, httpRequests: 0, http4xx: 0, auditRequests: 0, auditForbidden: 0, secretReads: 0, execs: 0,
  };
  for (const e of events) {
    if (e.username !== undefined && (e.kind === "auth.failure" || e.kind === "auth.success")) usernames.add(e.username);
    if (e.password !== undefined && e.kind === "auth.failure") passwords.add(e.password);
    switch (e.kind) {
      case "auth.failure": b.failedLogins++; break;
      case "auth.success": b.successfulLogins++; break;
      case "command": b.commands++; break;
      case "file.download": b.downloads++; break;
      case "network.flow":
        b.flows++;
        if (e.destPort !== undefined) destPorts.add(e.destPort);
        if (e.destIp !== undefined) destIps.add(e.destIp);
        break;
      case "network.alert":
        b.alerts++;
        // Suricata severity 1 is the most severe: the model wants 3 for it, 1 for severity 3.
        if (e.alert?.severity !== undefined && e.alert.severity <= 3) b.maxAlertSeverity = Math.max(b.maxAlertSeverity, 4 - e.alert.severity);
        break;
      case "http.request":
        b.httpRequests++;
        if (e.http?.status !== undefined && e.http.status >= 400 && e.http.status < 500) b.http4xx++;
        break;
      case "k8s.audit":
        if (e.k8s?.stage === "ResponseStarted") break;
        b.auditRequests++;
        if (e.k8s?.code === 403 || e.k8s?.code === 401) b.auditForbidden++;
        if (e.k8s?.resource === "secrets" && ["get", "list", "watch"].includes(e.k8s.verb)) b.secretReads++;
        if (e.k8s?.resource === "pods" && ["exec", "attach", "portforward"].includes(e.k8s.subresource ?? "")) b.execs++;
        break;
      default:
        break;
    }
    b.bytesOut += e.kind === "network.flow" ? (e.bytesOut ?? 0) : 0;
    b.bytesIn += e.kind === "network.flow" ? (e.bytesIn ?? 0) : 0;
  }
  b.distinctUsernames = usernames.size;
  b.distinctPasswords = passwords.size;
  b.distinctDestPorts = destPorts.size;
  b.distinctDestIps = destIps.size;
  return b;
}

/** A small deterministic generator, so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function window(seed: number): SecurityEvent[] {
  const next = random(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const maybe = <T,>(v: T): T | undefined => (next() < 0.7 ? v : undefined);
  return Array.from({ length: Math.floor(next() * 80) }, (_, i): SecurityEvent => {
    const kind = pick(eventKinds);
    const e: Record<string, unknown> = { tenant: "default", id: `e${i}`, source: "generic", kind, sourceType: kind, time: i * 1000, receivedAt: 0, sourceIp: "203.0.113.5", actor: "" };
    const fields: Record<string, unknown> = {
      username: maybe(pick(["root", "admin", "pi"])), password: maybe(pick(["a", "b", "c", "d"])), destPort: maybe(pick([22, 80, 443, 0])),
      destIp: maybe(pick(["10.0.0.1", "10.0.0.2"])), bytesOut: maybe(pick([0, 1, 1.5, 1e9, 7])), bytesIn: maybe(pick([0, 3, 2.25])),
      alert: maybe({ signature: "x", severity: maybe(pick([1, 2, 3, 4])) }), http: maybe({ status: maybe(pick([200, 399, 400, 404, 499, 500])) }),
      k8s: maybe({ auditId: "a", stage: pick(["ResponseStarted", "ResponseComplete", "RequestReceived"]), user: "u", groups: [], verb: pick(["get", "list", "watch", "create", "delete"]),
        resource: maybe(pick(["secrets", "pods", "configmaps"])), subresource: maybe(pick(["exec", "attach", "portforward", "log"])), code: maybe(pick([200, 401, 403, 500])) }),
    };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && next() < 0.8) e[k] = v;
    return e as unknown as SecurityEvent;
  });
}

describe("sourceBehaviourOf against its definition", () => {
  it("gives the same features on 5,000 random windows", () => {
    let nonZero = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      const events = window(seed);
      const expected: SourceBehaviour = sourceBehaviourByDefinition(events, 300);
      expect({ seed, features: sourceBehaviourOf(events, 300) }).toEqual({ seed, features: expected });
      if (expected.distinctPasswords > 0 && expected.bytesOut > 0 && expected.secretReads + expected.execs > 0) nonZero++;
    }
    expect(nonZero).toBeGreaterThan(500);
  });
});
