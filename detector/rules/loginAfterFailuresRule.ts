// A successful login from a source that had just failed several times: a guessed or stolen credential now works.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { techniques } from "./attackTechniques.ts";
import { oldestFirst, seconds, type DetectionRule } from "./detectionRule.ts";

export const loginAfterFailuresRule: DetectionRule = {
  name: "login-after-failures",
  technique: techniques.validAccounts,
  /** `failures` must precede the success within `windowSeconds` of event time. */
  windowMs: (c) => seconds(c.loginAfterFailures.windowSeconds),
  triggerKinds: ["auth.failure", "auth.success"],
  /**
   * Evidence is only ever the failures within the window before a success that is a trigger or has a failure trigger
   * within the window before it: such a success is no earlier than the oldest trigger, and needs the window before it.
   * A source sending only failures (no success since its triggers began) needs no history before them at all.
   */
  historyFrom({ triggers, events, config }) {
    const windowMs = seconds(config.loginAfterFailures.windowSeconds);
    const triggerIds = new Set<string>();
    const failureTimes: number[] = [];
    for (const t of triggers) {
      triggerIds.add(t.id);
      if (t.kind === "auth.failure") failureTimes.push(t.time);
    }
    failureTimes.sort((a, b) => a - b);
    let from = Infinity;
    for (const s of events) {
      if (s.kind !== "auth.success" || s.time - windowMs >= from) continue;
      // A failure trigger at or before the success, at most the window earlier (as `detect` counts them).
      let lo = 0;
      let hi = failureTimes.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (failureTimes[mid]! < s.time - windowMs) lo = mid + 1;
        else hi = mid;
      }
      if (triggerIds.has(s.id) || (lo < failureTimes.length && failureTimes[lo]! <= s.time)) from = s.time - windowMs;
    }
    return from;
  },
  detect({ sourceIp, triggers, events: given, config }) {
    const { failures: needed, windowSeconds } = config.loginAfterFailures;
    const windowMs = seconds(windowSeconds);
    const triggerIds = new Set(triggers.map((t) => t.id));
    // Oldest first, each success's failures are a slice [lo, hi) of `failures` whose ends only move forward.
    const events = oldestFirst(given);
    const failures = events.filter((e) => e.kind === "auth.failure");
    const triggersBefore = new Int32Array(failures.length + 1);
    failures.forEach((f, i) => (triggersBefore[i + 1] = triggersBefore[i]! + (triggerIds.has(f.id) ? 1 : 0)));
    const evidence = new Map<string, SecurityEvent>();
    let lo = 0;
    let hi = 0;
    /** Failures before this index are already evidence (the slices taken so far end here, and start no later). */
    let takenTo = 0;
    for (const success of events) {
      if (success.kind !== "auth.success") continue;
      while (hi < failures.length && failures[hi]!.time <= success.time) hi++;
      while (lo < hi && failures[lo]!.time < success.time - windowMs) lo++;
      if (hi - lo < needed) continue;
      if (!triggerIds.has(success.id) && triggersBefore[hi]! - triggersBefore[lo]! === 0) continue;
      for (let i = Math.max(lo, takenTo); i < hi; i++) evidence.set(failures[i]!.id, failures[i]!);
      takenTo = Math.max(takenTo, hi);
      evidence.set(success.id, success);
    }
    if (evidence.size === 0) return [];
    const all = [...evidence.values()].sort((a, b) => a.time - b.time);
    const successes = all.filter((e) => e.kind === "auth.success");
    const users = [...new Set(successes.map((e) => e.username ?? "?"))];
    return [{
      rule: this.name,
      technique: this.technique,
      sourceIp,
      actor: "",
      events: all,
      riskScore: 75,
      summary: `successful login as ${users.join(", ")} from ${sourceIp} after ${all.length - successes.length} failures`,
      dedupeWindowMs: windowMs,
    }];
  },
};
