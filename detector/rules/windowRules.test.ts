// The four window rules (brute force, spraying, port scan, exfiltration) and `eventsInReachingWindows` are written for
// speed: one walk, triggers looked up only within their span, risk and summary from what the walk counted. Here they are
// checked against the way they were first written (a copy of that code, kept as the definition) on random histories:
// ties, triggers anywhere (or none), events out of order, thresholds and windows other than the defaults.
import { describe, expect, it } from "vitest";
import { detectionConfigSchema, type DetectionConfig } from "../config/detectorConfig.ts";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { bruteForceRule } from "./bruteForceRule.ts";
import { countAtLeast, distinctAtLeast, DistinctCounter, eventsInReachingWindows, sumAtLeast, type Detection, type DetectionRule, type RuleInput, type WindowMeasure } from "./detectionRule.ts";
import { exfiltrationRule } from "./exfiltrationRule.ts";
import { passwordSprayRule } from "./passwordSprayRule.ts";
import { isScanAlert, portScanRule } from "./portScanRule.ts";

/** `eventsInReachingWindows` as first written: every window filled, triggers looked up one by one. */
function eventsInReachingWindowsByDefinition(events: SecurityEvent[], triggers: SecurityEvent[], windowMs: number, measure: WindowMeasure): SecurityEvent[] {
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const triggerIds = new Set(triggers.map((t) => t.id));
  const triggersBefore = [0];
  for (const e of sorted) triggersBefore.push(triggersBefore.at(-1)! + (triggerIds.has(e.id) ? 1 : 0));
  const inWindow = new Array<boolean>(sorted.length).fill(false);
  let right = 0;
  for (let left = 0; left < sorted.length; left++) {
    while (right < sorted.length && sorted[right]!.time - sorted[left]!.time <= windowMs) measure.add(sorted[right++]!);
    if (measure.reached() && triggersBefore[right]! - triggersBefore[left]! > 0) inWindow.fill(true, left, right);
    measure.remove(sorted[left]!);
  }
  return sorted.filter((_, i) => inWindow[i]);
}

/** The spraying measure as first written (the rule's own is not exported). */
function sprayMeasureByDefinition(distinctUsers: number): WindowMeasure {
  const usersByPassword = new Map<string, DistinctCounter>();
  const usersWithoutPassword = new DistinctCounter((e: SecurityEvent) => e.username);
  let widest = 0;
  return {
    add: (e) => {
      if (e.password === undefined) return usersWithoutPassword.add(e);
      let c = usersByPassword.get(e.password);
      if (!c) usersByPassword.set(e.password, (c = new DistinctCounter((x: SecurityEvent) => x.username)));
      c.add(e);
      widest = Math.max(widest, c.size);
    },
    remove: (e) => {
      if (e.password === undefined) return usersWithoutPassword.remove(e);
      const c = usersByPassword.get(e.password);
      if (!c) return;
      const before = c.size;
      c.remove(e);
      if (c.size === 0) usersByPassword.delete(e.password);
      if (before === widest && c.size < before) widest = Math.max(0, ...[...usersByPassword.values()].map((x) => x.size));
    },
    reached: () => widest >= distinctUsers || usersWithoutPassword.size >= distinctUsers,
  };
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Each rule's `detect` as first written, over `eventsInReachingWindowsByDefinition`. */
const definitions: Record<string, (input: RuleInput, rule: DetectionRule) => Detection[]> = {
  "ssh-brute-force": ({ sourceIp, triggers, events, config }, rule) => {
    const { threshold, windowSeconds } = config.bruteForce;
    const failures = events.filter((e) => e.kind === "auth.failure");
    const evidence = eventsInReachingWindowsByDefinition(failures, triggers, windowSeconds * 1000, countAtLeast(threshold));
    if (evidence.length === 0) return [];
    const users = new Set(evidence.map((e) => e.username).filter(Boolean));
    return [{
      rule: rule.name, technique: rule.technique, sourceIp, actor: "", events: evidence, riskScore: Math.min(70, 45 + evidence.length),
      summary: `${evidence.length} failed logins from ${sourceIp} within ${windowSeconds}s windows (${users.size} usernames)`, dedupeWindowMs: windowSeconds * 1000 * 5,
    }];
  },
  "password-spraying": ({ sourceIp, triggers, events, config }, rule) => {
    const { distinctUsers, windowSeconds } = config.passwordSpray;
    const failures = events.filter((e) => e.kind === "auth.failure" && e.username !== undefined);
    const evidence = eventsInReachingWindowsByDefinition(failures, triggers, windowSeconds * 1000, sprayMeasureByDefinition(distinctUsers));
    if (evidence.length === 0) return [];
    const users = new Set(evidence.map((e) => e.username));
    return [{
      rule: rule.name, technique: rule.technique, sourceIp, actor: "", events: evidence, riskScore: Math.min(75, 50 + users.size),
      summary: `failed logins for ${users.size} usernames from ${sourceIp} within ${windowSeconds}s`, dedupeWindowMs: windowSeconds * 1000 * 2,
    }];
  },
  "port-scan": ({ sourceIp, triggers, events, config }, rule) => {
    const { distinctPorts, windowSeconds } = config.portScan;
    const probes = events.filter((e) => (e.kind === "network.flow" || e.kind === "session.connect") && e.destPort !== undefined);
    const byFlows = eventsInReachingWindowsByDefinition(probes, triggers, windowSeconds * 1000, distinctAtLeast(distinctPorts, (e) => String(e.destPort)));
    const triggerIds = new Set(triggers.map((t) => t.id));
    const alerts = events.filter((e) => isScanAlert(e) && triggerIds.has(e.id));
    const evidence = [...byFlows, ...alerts].sort((a, b) => a.time - b.time);
    if (evidence.length === 0) return [];
    const ports = new Set(byFlows.map((e) => e.destPort));
    return [{
      rule: rule.name, technique: rule.technique, sourceIp, actor: "", events: evidence,
      riskScore: alerts.length > 0 && ports.size === 0 ? 40 : Math.min(60, 35 + Math.floor(ports.size / 5)),
      summary: ports.size > 0
        ? `${sourceIp} probed ${ports.size} distinct ports within ${windowSeconds}s${alerts.length ? ` (and ${alerts.length} scan alerts)` : ""}`
        : `scan alert for ${sourceIp}: ${alerts[0]?.alert?.signature ?? ""}`,
      dedupeWindowMs: windowSeconds * 1000 * 10,
    }];
  },
  "large-outbound-transfer": ({ sourceIp, triggers, events, config }, rule) => {
    const { bytesOut, windowSeconds } = config.exfiltration;
    const flows = events.filter((e) => e.kind === "network.flow" && (e.bytesOut ?? 0) > 0);
    const evidence = eventsInReachingWindowsByDefinition(flows, triggers, windowSeconds * 1000, sumAtLeast(bytesOut, (e) => e.bytesOut ?? 0));
    if (evidence.length === 0) return [];
    const total = evidence.reduce((sum, e) => sum + (e.bytesOut ?? 0), 0);
    const peers = new Set(evidence.map((e) => e.destIp).filter(Boolean));
    return [{
      rule: rule.name, technique: rule.technique, sourceIp, actor: "", events: evidence, riskScore: Math.min(90, 70 + Math.floor(total / bytesOut) * 5),
      summary: `${sourceIp} sent ${mib(total)} to ${peers.size} peer(s) within ${windowSeconds}s windows (threshold ${mib(bytesOut)})`, dedupeWindowMs: windowSeconds * 1000 * 2,
    }];
  },
};

/** A small deterministic generator, so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

/** The defaults, or small thresholds and windows (so both outcomes are common on short histories). */
function configFor(seed: number): DetectionConfig {
  if (seed % 5 === 0) return detectionConfigSchema.parse({});
  return detectionConfigSchema.parse({
    bruteForce: { threshold: 2 + (seed % 6), windowSeconds: [10, 60, 120][seed % 3] },
    passwordSpray: { distinctUsers: 2 + (seed % 4), windowSeconds: [30, 60, 300][seed % 3] },
    portScan: { distinctPorts: 2 + (seed % 7), windowSeconds: [10, 60][seed % 2] },
    exfiltration: { bytesOut: [1000, 5000, 20_000][seed % 3], windowSeconds: [20, 60, 300][seed % 3] },
  });
}

/** A random history of one source (failures with and without username or password, flows, connects, alerts), and triggers among it. */
export function windowHistory(seed: number): { events: SecurityEvent[]; triggers: SecurityEvent[] } {
  const next = random(seed);
  const n = Math.floor(next() * 120);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const grid = pick([1000, 5000, 20_000]);
  const span = Math.floor(next() * 60);
  const events = Array.from({ length: n }, (_, i): SecurityEvent => {
    const base = { tenant: "default", id: `e${i}`, source: "generic" as const, time: Math.floor(next() * span) * grid, receivedAt: 0, sourceIp: "203.0.113.5", actor: "" };
    const r = next();
    if (r < 0.4) {
      return {
        ...base, kind: "auth.failure", sourceType: "auth.failure",
        ...(next() < 0.9 ? { username: pick(["root", "admin", "pi", "oracle", "test", ""]) } : {}),
        ...(next() < 0.6 ? { password: pick(["a", "b", "c"]) } : {}),
      };
    }
    if (r < 0.8) {
      return {
        ...base, kind: pick(["network.flow", "network.flow", "session.connect"] as const), sourceType: "flow",
        ...(next() < 0.9 ? { destPort: 1 + Math.floor(next() * 12) } : {}),
        ...(next() < 0.8 ? { bytesOut: Math.floor(next() * 3000) } : {}),
        ...(next() < 0.7 ? { destIp: pick(["10.0.0.1", "10.0.0.2", ""]) } : {}),
      };
    }
    if (r < 0.9) return { ...base, kind: "network.alert", sourceType: "alert", alert: { signature: pick(["ET SCAN nmap", "ET POLICY curl", "masscan probe"]) } };
    return { ...base, kind: "auth.success", sourceType: "auth.success", username: "root" };
  });
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const share = pick([0, 0.05, 0.3, 1]);
  // Triggers anywhere, or (as in a pass) the newest stretch of the history.
  const cut = sorted[Math.floor(next() * sorted.length)]?.time ?? 0;
  const triggers = next() < 0.5 ? events.filter(() => next() < share) : events.filter((e) => e.time >= cut && next() < Math.max(share, 0.5));
  // Mostly oldest first, as the engine gives them; sometimes in arrival order, as a direct caller might.
  return { events: next() < 0.8 ? sorted : events, triggers };
}

describe("eventsInReachingWindows against its definition", () => {
  const measures: { name: string; make: () => WindowMeasure }[] = [
    { name: "count", make: () => countAtLeast(4) },
    { name: "distinct ports", make: () => distinctAtLeast(3, (e) => (e.destPort === undefined ? undefined : String(e.destPort))) },
    { name: "sum of bytes", make: () => sumAtLeast(4000, (e) => e.bytesOut ?? 0) },
    { name: "spraying", make: () => sprayMeasureByDefinition(3) },
  ];
  it.each(measures)("$name: the same events on 3,000 random histories", ({ make }) => {
    let found = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const { events, triggers } = windowHistory(seed);
      const windowMs = [0, 5000, 20_000, 60_000][seed % 4]!;
      const expected = eventsInReachingWindowsByDefinition(events, triggers, windowMs, make()).map((e) => e.id);
      expect({ seed, ids: eventsInReachingWindows(events, triggers, windowMs, make()).map((e) => e.id) }).toEqual({ seed, ids: expected });
      if (expected.length > 0) found++;
    }
    expect(found).toBeGreaterThan(300);
    expect(found).toBeLessThan(2700);
  });
});

describe("window rules against their definitions", () => {
  it.each([bruteForceRule, passwordSprayRule, portScanRule, exfiltrationRule])("$name: the same detections (evidence, risk, summary) on 3,000 random histories", (rule) => {
    let detected = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const { events, triggers } = windowHistory(seed);
      const input: RuleInput = { tenant: "default", sourceIp: "203.0.113.5", triggers, events, config: configFor(seed) };
      const expected = definitions[rule.name]!(input, rule);
      const shape = (ds: Detection[]) => ds.map((d) => ({ ...d, events: d.events.map((e) => e.id) }));
      expect({ seed, detections: shape(rule.detect(input)) }).toEqual({ seed, detections: shape(expected) });
      if (expected.length > 0) detected++;
    }
    expect(detected).toBeGreaterThan(300);
    expect(detected).toBeLessThan(2700);
  });
});
