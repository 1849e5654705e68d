// A tool brought onto the host after a successful login: a download or upload record, or a wget/curl/tftp command with a URL.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { techniques } from "./attackTechniques.ts";
import { oldestFirst, seconds, type DetectionRule } from "./detectionRule.ts";

const fetchTool = /\b(?:wget|curl|tftp|ftpget|busybox\s+(?:wget|tftp))\b/i;
const fetchTarget = /\b(?:(?:https?|ftp|tftp):\/\/|\d{1,3}(?:\.\d{1,3}){3})/gi;

/**
 * A fetch tool followed on the same line by a URL or an IPv4 address. In linear time: the one-regex form
 * (`tool\b.*\burl`) backtracked over the rest of the line for every tool word, so a command of repeated `wget` (which
 * anyone typing into the honeypot can send) took seconds to judge, on the event loop, in every pass over its window.
 * The first tool word of a line is enough: a target after any later one is also after the first.
 */
export function isFetchCommand(command: string): boolean {
  for (const line of command.split(/[\n\r\u2028\u2029]/)) {
    const tool = fetchTool.exec(line);
    if (!tool) continue;
    fetchTarget.lastIndex = tool.index + tool[0].length;
    if (fetchTarget.test(line)) return true;
  }
  return false;
}

/** A tool brought onto the host: downloaded, uploaded (scp/sftp: Cowrie's file_upload), or fetched by a command. */
export function isToolDownload(e: SecurityEvent): boolean {
  return e.kind === "file.download" || e.kind === "file.upload" || (e.kind === "command" && isFetchCommand(e.command ?? ""));
}

export const toolDownloadRule: DetectionRule = {
  name: "tool-download-after-login",
  technique: techniques.ingressToolTransfer,
  /** How long after a login (event time) a download is attributed to it. */
  windowMs: (c) => seconds(c.toolDownload.windowSeconds),
  triggerKinds: ["auth.success", "file.download", "file.upload", "command"],
  /**
   * A download is evidence with the latest login at or before it (within the window), one of the two a trigger: so
   * the download is no earlier than the oldest trigger. Its login lies before the triggers only when no login comes
   * between the oldest trigger and it, and then the download itself must be the trigger: only then is the window
   * before it read. (A command or a download an hour after the login it follows is found however little of that hour
   * the store keeps in memory.)
   */
  historyFrom({ triggers, events, config }) {
    let firstLogin = Infinity;
    for (const e of events) if (e.kind === "auth.success" && e.time < firstLogin) firstLogin = e.time;
    let firstDownload = Infinity;
    for (const t of triggers) if (t.time < firstLogin && t.time < firstDownload && isToolDownload(t)) firstDownload = t.time;
    return firstDownload - seconds(config.toolDownload.windowSeconds);
  },
  detect({ sourceIp, triggers, events: given, config }) {
    const windowMs = seconds(config.toolDownload.windowSeconds);
    const triggerIds = new Set(triggers.map((t) => t.id));
    // Oldest first, the latest login at or before each download is found by a pointer that only moves forward.
    const events = oldestFirst(given);
    const logins = events.filter((e) => e.kind === "auth.success");
    const evidence = new Map<string, SecurityEvent>();
    let next = 0;
    for (const download of events) {
      if (!isToolDownload(download)) continue;
      while (next < logins.length && logins[next]!.time <= download.time) next++;
      const login = next > 0 && download.time - logins[next - 1]!.time <= windowMs ? logins[next - 1] : undefined;
      if (!login || (!triggerIds.has(download.id) && !triggerIds.has(login.id))) continue;
      evidence.set(login.id, login);
      evidence.set(download.id, download);
    }
    if (evidence.size === 0) return [];
    const all = [...evidence.values()].sort((a, b) => a.time - b.time);
    const urls = [...new Set(all.filter(isToolDownload).map((e) => e.url ?? e.command ?? "?"))];
    return [{
      rule: this.name,
      technique: this.technique,
      sourceIp,
      actor: "",
      events: all,
      riskScore: 80,
      summary: `tool downloaded after login from ${sourceIp}: ${urls.slice(0, 3).join(", ")}${urls.length > 3 ? ", ..." : ""}`,
      dedupeWindowMs: windowMs,
    }];
  },
};
