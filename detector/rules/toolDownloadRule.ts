// A tool fetched onto the host after a successful login: a download record, or a wget/curl/tftp command with a URL.
import type { SecurityEvent } from "../events/securityEvent.ts";
import { techniques } from "./attackTechniques.ts";
import { seconds, type DetectionRule } from "./detectionRule.ts";

/** How long after a login (event time) a download is attributed to it. */
export const downloadAfterLoginSeconds = 3600;

const fetchCommand = /\b(wget|curl|tftp|ftpget|busybox\s+(wget|tftp))\b.*\b((https?|ftp|tftp):\/\/|\d{1,3}(\.\d{1,3}){3})/i;

export function isToolDownload(e: SecurityEvent): boolean {
  return e.kind === "file.download" || (e.kind === "command" && fetchCommand.test(e.command ?? ""));
}

export const toolDownloadRule: DetectionRule = {
  name: "tool-download-after-login",
  technique: techniques.ingressToolTransfer,
  windowMs: () => seconds(downloadAfterLoginSeconds),
  triggerKinds: ["auth.success", "file.download", "command"],
  detect({ sourceIp, triggers, events }) {
    const windowMs = seconds(downloadAfterLoginSeconds);
    const triggerIds = new Set(triggers.map((t) => t.id));
    const logins = events.filter((e) => e.kind === "auth.success");
    const evidence = new Map<string, SecurityEvent>();
    for (const download of events.filter(isToolDownload)) {
      const login = logins.filter((l) => l.time <= download.time && download.time - l.time <= windowMs).at(-1);
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
