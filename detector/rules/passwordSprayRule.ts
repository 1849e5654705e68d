// Password spraying: failed logins across many usernames with few passwords, from one source.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { techniques } from "./attackTechniques.ts";
import { DistinctCounter, eventsInReachingWindows, only, seconds, type DetectionRule, type WindowMeasure } from "./detectionRule.ts";

/**
 * One password tried against enough usernames (guessing many passwords for one user is brute force), or, for records
 * that carry no password, enough usernames. It only grows as events are added, as a window measure must: "at most one
 * password per two usernames" did not, so a brute force in the same window hid a spray (and the spray was found or not
 * depending on which batch came first).
 */
function sprayMeasure(distinctUsers: number): WindowMeasure {
  const usersByPassword = new Map<string, DistinctCounter>();
  const usersWithoutPassword = new DistinctCounter((e: SecurityEvent) => e.username);
  /**
   * How many passwords have been tried against k usernames, by k: the widest is the largest k with any, kept as
   * usernames come and go (a count changes by one at a time). It was looked for among every password whenever the
   * widest lost a user, which with Cowrie's many passwords was most of the rule's time.
   */
  const passwordsWith: number[] = [0];
  let widest = 0;
  const counter = (password: string) => {
    let c = usersByPassword.get(password);
    if (!c) usersByPassword.set(password, (c = new DistinctCounter((e: SecurityEvent) => e.username)));
    return c;
  };
  return {
    add: (e) => {
      if (e.password === undefined) return usersWithoutPassword.add(e);
      const c = counter(e.password);
      const before = c.size;
      c.add(e);
      if (c.size === before) return;
      passwordsWith[before]!--;
      passwordsWith[c.size] = (passwordsWith[c.size] ?? 0) + 1;
      if (c.size > widest) widest = c.size;
    },
    remove: (e) => {
      if (e.password === undefined) return usersWithoutPassword.remove(e);
      const c = usersByPassword.get(e.password);
      if (!c) return;
      const before = c.size;
      c.remove(e);
      if (c.size === 0) usersByPassword.delete(e.password);
      if (c.size === before) return;
      passwordsWith[before]!--;
      passwordsWith[c.size]!++;
      while (widest > 0 && passwordsWith[widest] === 0) widest--;
    },
    reached: () => widest >= distinctUsers || usersWithoutPassword.size >= distinctUsers,
  };
}

export const passwordSprayRule: DetectionRule = {
  name: "password-spraying",
  technique: techniques.passwordSpraying,
  windowMs: (c) => seconds(c.passwordSpray.windowSeconds),
  triggerKinds: ["auth.failure"],
  detect({ sourceIp, triggers, events, config }) {
    const { distinctUsers, windowSeconds } = config.passwordSpray;
    const failures = only(events, (e) => e.kind === "auth.failure" && e.username !== undefined);
    const evidence = eventsInReachingWindows(failures, triggers, seconds(windowSeconds), sprayMeasure(distinctUsers));
    if (evidence.length === 0) return [];
    const users = new Set<string | undefined>();
    for (const e of evidence) users.add(e.username);
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
