// Large outbound transfer: bytes sent by one source to its peers, summed over flows within a window of event time.
import { techniques } from "./attackTechniques.ts";
import { eventsInReachingWindows, only, seconds, sumAtLeast, type DetectionRule } from "./detectionRule.ts";

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

export const exfiltrationRule: DetectionRule = {
  name: "large-outbound-transfer",
  technique: techniques.exfiltrationAlternativeProtocol,
  windowMs: (c) => seconds(c.exfiltration.windowSeconds),
  triggerKinds: ["network.flow"],
  detect({ sourceIp, triggers, events, config }) {
    const { bytesOut, windowSeconds } = config.exfiltration;
    const flows = only(events, (e) => e.kind === "network.flow" && (e.bytesOut ?? 0) > 0);
    const evidence = eventsInReachingWindows(flows, triggers, seconds(windowSeconds), sumAtLeast(bytesOut, (e) => e.bytesOut ?? 0));
    if (evidence.length === 0) return [];
    const total = evidence.reduce((sum, e) => sum + (e.bytesOut ?? 0), 0);
    const peers = new Set(evidence.map((e) => e.destIp).filter(Boolean));
    return [{
      rule: this.name,
      technique: this.technique,
      sourceIp,
      actor: "",
      events: evidence,
      riskScore: Math.min(90, 70 + Math.floor(total / bytesOut) * 5),
      summary: `${sourceIp} sent ${mib(total)} to ${peers.size} peer(s) within ${windowSeconds}s windows (threshold ${mib(bytesOut)})`,
      dedupeWindowMs: seconds(windowSeconds) * 2,
    }];
  },
};
