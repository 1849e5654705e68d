// SSH brute force: many failed logins from one source within a short window of event time.
import { techniques } from "./attackTechniques.ts";
import { countAtLeast, eventsInReachingWindows, only, seconds, type DetectionRule } from "./detectionRule.ts";

export const bruteForceRule: DetectionRule = {
  name: "ssh-brute-force",
  technique: techniques.bruteForce,
  windowMs: (c) => seconds(c.bruteForce.windowSeconds),
  triggerKinds: ["auth.failure"],
  detect({ sourceIp, triggers, events, config }) {
    const { threshold, windowSeconds } = config.bruteForce;
    const failures = only(events, (e) => e.kind === "auth.failure");
    const evidence = eventsInReachingWindows(failures, triggers, seconds(windowSeconds), countAtLeast(threshold));
    if (evidence.length === 0) return [];
    const users = new Set<string>();
    for (const e of evidence) if (e.username) users.add(e.username);
    return [{
      rule: this.name,
      technique: this.technique,
      sourceIp,
      actor: "",
      events: evidence,
      riskScore: Math.min(70, 45 + evidence.length),
      summary: `${evidence.length} failed logins from ${sourceIp} within ${windowSeconds}s windows (${users.size} usernames)`,
      dedupeWindowMs: seconds(windowSeconds) * 5,
    }];
  },
};
