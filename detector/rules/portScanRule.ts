// Port scan: one source reaching many distinct destination ports (flow records), or an IDS scan alert. Ports, not
// host:port pairs: a browser reaches dozens of hosts on 443 within a minute.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { techniques } from "./attackTechniques.ts";
import { distinctAtLeast, eventsInReachingWindows, only, seconds, type DetectionRule } from "./detectionRule.ts";

const scanSignature = /\bscan\b|\bnmap\b|\bmasscan\b|\bzmap\b/i;

export function isScanAlert(e: SecurityEvent): boolean {
  return e.kind === "network.alert" && (scanSignature.test(e.alert?.signature ?? "") || /Detection of a Network Scan/i.test(e.alert?.category ?? ""));
}

export const portScanRule: DetectionRule = {
  name: "port-scan",
  technique: techniques.networkServiceDiscovery,
  windowMs: (c) => seconds(c.portScan.windowSeconds),
  triggerKinds: ["network.flow", "session.connect", "network.alert"],
  detect({ sourceIp, triggers, events, config }) {
    const { distinctPorts, windowSeconds } = config.portScan;
    const probes = only(events, (e) => (e.kind === "network.flow" || e.kind === "session.connect") && e.destPort !== undefined);
    const byFlows = eventsInReachingWindows(probes, triggers, seconds(windowSeconds), distinctAtLeast(distinctPorts, (e) => String(e.destPort)));
    const triggerIds = new Set(triggers.map((t) => t.id));
    const alerts = events.filter((e) => isScanAlert(e) && triggerIds.has(e.id));
    // The flows come oldest first: sorting them again (a comparison per event of a full window) only when alerts join them.
    const evidence = alerts.length === 0 ? byFlows : [...byFlows, ...alerts].sort((a, b) => a.time - b.time);
    if (evidence.length === 0) return [];
    const ports = new Set<number | undefined>();
    for (const e of byFlows) ports.add(e.destPort);
    return [{
      rule: this.name,
      technique: this.technique,
      sourceIp,
      actor: "",
      events: evidence,
      riskScore: alerts.length > 0 && ports.size === 0 ? 40 : Math.min(60, 35 + Math.floor(ports.size / 5)),
      summary: ports.size > 0
        ? `${sourceIp} probed ${ports.size} distinct ports within ${windowSeconds}s${alerts.length ? ` (and ${alerts.length} scan alerts)` : ""}`
        : `scan alert for ${sourceIp}: ${alerts[0]?.alert?.signature ?? ""}`,
      dedupeWindowMs: seconds(windowSeconds) * 10,
    }];
  },
};
