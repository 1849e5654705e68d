// Which Kubernetes identities are the platform's own (control plane, nodes, kube-system service accounts).
import type { SecurityEvent } from "../events/securityEvent.ts";

export function isSystemIdentity(user: string): boolean {
  if (user.startsWith("system:serviceaccount:")) return user.startsWith("system:serviceaccount:kube-system:");
  return user.startsWith("system:") && user !== "system:anonymous";
}

export function isAnonymous(e: SecurityEvent): boolean {
  return e.k8s?.user === "system:anonymous" || (e.k8s?.groups.includes("system:unauthenticated") ?? false);
}

/**
 * The API server answered with success, or the authorizer allowed it and it failed past authorization and admission
 * (a 5xx: the identity holds the permission; a proxy whose kubelet did not answer, a storage timeout), or the
 * authorizer allowed it when no answer is recorded yet. A 4xx is a refusal (RBAC, admission, a missing object).
 */
/** The API server answered with success: the object was written (admitted), not merely authorized. */
export function wasAdmitted(e: SecurityEvent): boolean {
  const code = e.k8s?.code;
  return code !== undefined ? code < 400 : e.k8s?.decision === "allow";
}

export function wasAllowed(e: SecurityEvent): boolean {
  const code = e.k8s?.code;
  if (code !== undefined && code < 400) return true;
  if (code !== undefined && code < 500) return false;
  return e.k8s?.decision === "allow";
}

/**
 * One request can appear at several stages (one audit ID): keep one event per request. The audit ID is the client's to
 * choose, so requests are told apart by what was asked too: two reads of secrets in two namespaces under one forged
 * audit ID are two requests.
 */
export function oneEventPerRequest(events: SecurityEvent[]): SecurityEvent[] {
  const seen = new Map<string, SecurityEvent>();
  for (const e of events) {
    const id = e.k8s ? `${e.k8s.auditId}\u0000${e.actor}\u0000${e.k8s.verb}\u0000${e.url ?? ""}` : e.id;
    const kept = seen.get(id);
    // The completed stage carries the final response code.
    if (!kept || e.k8s?.stage === "ResponseComplete") seen.set(id, e);
  }
  return [...seen.values()].sort((a, b) => a.time - b.time);
}
