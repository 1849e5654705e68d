// A successful login from a source that had just failed several times: a guessed or stolen credential now works.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { techniques } from "./attackTechniques.ts";
import { seconds, type DetectionRule } from "./detectionRule.ts";

/** Failures that must precede the success, and how far back (event time) they count. */
export const loginAfterFailures = { failures: 3, windowSeconds: 600 };

export const loginAfterFailuresRule: DetectionRule = {
  name: "login-after-failures",
  technique: techniques.validAccounts,
  windowMs: () => seconds(loginAfterFailures.windowSeconds),
  triggerKinds: ["auth.failure", "auth.success"],
  detect({ sourceIp, triggers, events }) {
    const windowMs = seconds(loginAfterFailures.windowSeconds);
    const triggerIds = new Set(triggers.map((t) => t.id));
    const failures = events.filter((e) => e.kind === "auth.failure");
    const evidence = new Map<string, SecurityEvent>();
    for (const success of events.filter((e) => e.kind === "auth.success")) {
      const before = failures.filter((f) => f.time <= success.time && f.time >= success.time - windowMs);
      if (before.length < loginAfterFailures.failures) continue;
      if (!triggerIds.has(success.id) && !before.some((f) => triggerIds.has(f.id))) continue;
      for (const e of [...before, success]) evidence.set(e.id, e);
    }
    if (evidence.size === 0) return [];
    const all = [...evidence.values()].sort((a, b) => a.time - b.time);
    const users = [...new Set(all.filter((e) => e.kind === "auth.success").map((e) => e.username ?? "?"))];
    return [{
      rule: this.name,
      technique: this.technique,
      sourceIp,
      actor: "",
      events: all,
      riskScore: 75,
      summary: `successful login as ${users.join(", ")} from ${sourceIp} after ${all.length - users.length} failures`,
      dedupeWindowMs: windowMs,
    }];
  },
};
