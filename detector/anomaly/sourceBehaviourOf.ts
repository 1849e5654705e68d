// Aggregates the stored events of one tenant+source into the anomaly model's input (detector/ml/features.ts).
import type { SecurityEvent } from "../events/securityEvent.ts";
import type { SourceBehaviour } from "../ml/features.ts";

/** The event-time span (before the newest event of a batch) the model looks at; see detector/README.md. */
export const behaviourWindowSeconds = 300;

const secretReadVerbs = ["get", "list", "watch"];
const execSubresources = ["exec", "attach", "portforward"];

/** One walk over the window, each event judged by its kind once (a window of 300 s is walked for every source of every pass). */
export function sourceBehaviourOf(events: SecurityEvent[], windowSeconds: number): SourceBehaviour {
  const usernames = new Set<string>();
  const passwords = new Set<string>();
  const destPorts = new Set<number>();
  const destIps = new Set<string>();
  const b: SourceBehaviour = {
    windowSeconds, events: events.length, failedLogins: 0, successfulLogins: 0, distinctUsernames: 0, distinctPasswords: 0,
    commands: 0, downloads: 0, distinctDestPorts: 0, distinctDestIps: 0, flows: 0, bytesOut: 0, bytesIn: 0, alerts: 0,
    maxAlertSeverity: 0, httpRequests: 0, http4xx: 0, auditRequests: 0, auditForbidden: 0, secretReads: 0, execs: 0,
  };
  for (const e of events) {
    switch (e.kind) {
      case "auth.failure":
        b.failedLogins++;
        if (e.username !== undefined) usernames.add(e.username);
        if (e.password !== undefined) passwords.add(e.password);
        break;
      case "auth.success":
        b.successfulLogins++;
        if (e.username !== undefined) usernames.add(e.username);
        break;
      case "command": b.commands++; break;
      case "file.download": b.downloads++; break;
      case "network.flow":
        b.flows++;
        if (e.destPort !== undefined) destPorts.add(e.destPort);
        if (e.destIp !== undefined) destIps.add(e.destIp);
        b.bytesOut += e.bytesOut ?? 0;
        b.bytesIn += e.bytesIn ?? 0;
        break;
      case "network.alert":
        b.alerts++;
        // Suricata severity 1 is the most severe: the model wants 3 for it, 1 for severity 3.
        if (e.alert?.severity !== undefined && e.alert.severity <= 3) b.maxAlertSeverity = Math.max(b.maxAlertSeverity, 4 - e.alert.severity);
        break;
      case "http.request":
        b.httpRequests++;
        if (e.http?.status !== undefined && e.http.status >= 400 && e.http.status < 500) b.http4xx++;
        break;
      case "k8s.audit":
        if (e.k8s?.stage === "ResponseStarted") break;
        b.auditRequests++;
        if (e.k8s?.code === 403 || e.k8s?.code === 401) b.auditForbidden++;
        if (e.k8s?.resource === "secrets" && secretReadVerbs.includes(e.k8s.verb)) b.secretReads++;
        if (e.k8s?.resource === "pods" && execSubresources.includes(e.k8s.subresource ?? "")) b.execs++;
        break;
      default:
        break;
    }
  }
  b.distinctUsernames = usernames.size;
  b.distinctPasswords = passwords.size;
  b.distinctDestPorts = destPorts.size;
  b.distinctDestIps = destIps.size;
  return b;
}
