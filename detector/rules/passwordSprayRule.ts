// Password spraying: failed logins across many usernames with few passwords, from one source.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { techniques } from "./attackTechniques.ts";
import { DistinctCounter, eventsInReachingWindows, seconds, type DetectionRule, type WindowMeasure } from "./detectionRule.ts";

/** Enough usernames, and at most one password per two usernames (guessing many passwords per user is brute force). */
function sprayMeasure(distinctUsers: number): WindowMeasure {
  const users = new DistinctCounter((e: SecurityEvent) => e.username);
  const passwords = new DistinctCounter((e: SecurityEvent) => e.password);
  return {
    add: (e) => { users.add(e); passwords.add(e); },
    remove: (e) => { users.remove(e); passwords.remove(e); },
    reached: () => users.size >= distinctUsers && passwords.size * 2 <= users.size,
  };
}

export const passwordSprayRule: DetectionRule = {
  name: "password-spraying",
  technique: techniques.passwordSpraying,
  windowMs: (c) => seconds(c.passwordSpray.windowSeconds),
  triggerKinds: ["auth.failure"],
  detect({ sourceIp, triggers, events, config }) {
    const { distinctUsers, windowSeconds } = config.passwordSpray;
    const failures = events.filter((e) => e.kind === "auth.failure" && e.username !== undefined);
    const evidence = eventsInReachingWindows(failures, triggers, seconds(windowSeconds), sprayMeasure(distinctUsers));
    if (evidence.length === 0) return [];
    const users = new Set(evidence.map((e) => e.username));
    return [{
      rule: this.name,
      technique: this.technique,
      sourceIp,
      actor: "",
      events: evidence,
      riskScore: Math.min(75, 50 + users.size),
      summary: `failed logins for ${users.size} usernames from ${sourceIp} within ${windowSeconds}s`,
      dedupeWindowMs: seconds(windowSeconds) * 2,
    }];
  },
};
