// Rules over Kubernetes audit events; each raises one detection per acting identity.
import type { SecurityEvent } from "../events/securityEvent.ts";
import type { DetectionConfig } from "../config/detectorConfig.ts";
import { techniques, type Technique } from "./attackTechniques.ts";
import { seconds, type Detection, type DetectionRule, type RuleInput } from "./detectionRule.ts";
import { isAnonymous, isSystemIdentity, oneEventPerRequest, wasAdmitted, wasAllowed } from "./kubernetesIdentity.ts";

interface AuditRuleSpec {
  name: string;
  technique: Technique;
  matches(e: SecurityEvent, config: DetectionConfig): boolean;
  /** Whether the identity's matching requests (one per audit id) amount to a detection. */
  enough?(requests: SecurityEvent[]): boolean;
  risk(requests: SecurityEvent[]): number;
  summary(actor: string, requests: SecurityEvent[]): string;
}

const where = (e: SecurityEvent) => (e.k8s?.namespace ? `${e.k8s.namespace}/` : "") + (e.k8s?.name ?? "");
const allowedCount = (requests: SecurityEvent[]) => requests.filter(wasAllowed).length;

function auditRule(spec: AuditRuleSpec): DetectionRule {
  return {
    name: spec.name,
    technique: spec.technique,
    /** The event-time span over which one identity's matching requests make one detection. */
    windowMs: (c: DetectionConfig) => seconds(c.kubernetes.windowSeconds),
    triggerKinds: ["k8s.audit"],
    detect({ sourceIp, triggers, events, config }: RuleInput): Detection[] {
      const triggerIds = new Set(triggers.map((t) => t.id));
      const matching = events.filter((e) => e.kind === "k8s.audit" && spec.matches(e, config));
      const byActor = new Map<string, SecurityEvent[]>();
      for (const e of matching) {
        const list = byActor.get(e.actor);
        if (list) list.push(e);
        else byActor.set(e.actor, [e]);
      }
      const detections: Detection[] = [];
      for (const [actor, actorEvents] of byActor) {
        if (!actorEvents.some((e) => triggerIds.has(e.id))) continue;
        const requests = oneEventPerRequest(actorEvents);
        if (spec.enough && !spec.enough(requests)) continue;
        detections.push({
          rule: spec.name,
          technique: spec.technique,
          sourceIp,
          actor,
          events: actorEvents.sort((a, b) => a.time - b.time),
          riskScore: spec.risk(requests),
          summary: spec.summary(actor, requests),
          dedupeWindowMs: seconds(config.kubernetes.windowSeconds),
        });
      }
      return detections;
    },
  };
}

/**
 * Exec or attach into a pod, by anyone: no part of the platform execs (controllers, kubelets and the scheduler never
 * do), so a system identity doing it is someone holding its credentials, a kube-system service account's token taken
 * from a pod or a node above all. Judging it like the others' (as the rules for what the platform does every day
 * cannot) leaves a stolen platform token no way to exec unseen.
 */
export const podExecRule = auditRule({
  name: "k8s-pod-exec",
  technique: techniques.containerAdministrationCommand,
  matches: (e) => e.k8s?.resource === "pods" && (e.k8s.subresource === "exec" || e.k8s.subresource === "attach"),
  risk: (r) => (allowedCount(r) > 0 ? 60 : 40),
  summary: (actor, r) => `${actor} ran ${r.length} exec/attach request(s) into ${[...new Set(r.map(where))].join(", ")} (${allowedCount(r)} allowed)`,
});

/** The kubelet's endpoints that run something in a container (its API: run, exec, attach, portForward). */
const kubeletCommand = /^\/api\/v1\/nodes\/([^/]+)\/proxy\/(run|exec|attach|portForward)(?:\/([^/]+)\/([^/]+))?/;

/**
 * What a nodes/proxy request asks of the kubelet, when it is a command: the node, the endpoint and the pod. The path is
 * read as the kubelet reads it (percent-escapes decoded, repeated slashes as one), so an escaped `%65xec` is still exec.
 */
export function kubeletCommandOf(url: string | undefined): { node: string; endpoint: string; pod?: string } | undefined {
  let path = (url ?? "").split("?")[0]!;
  try {
    path = decodeURIComponent(path);
  } catch {
    // A malformed escape: the kubelet would refuse it too; match it as written.
  }
  const m = kubeletCommand.exec(path.replace(/\/{2,}/g, "/"));
  if (!m) return undefined;
  return { node: m[1]!, endpoint: m[2]!, ...(m[3] && m[4] ? { pod: `${m[3]}/${m[4]}` } : {}) };
}

/**
 * A command run in a container through the API server's proxy to a kubelet (nodes/proxy to the kubelet's run, exec,
 * attach or portForward): what `pods/exec` does, without a pods/exec request to audit or admission to see, and allowed
 * by a mere GET on nodes/proxy (a websocket upgrade). Monitoring reads the kubelet's metrics and stats through the same
 * subresource every day: only the command endpoints count. By any identity, as pod exec.
 */
export const kubeletProxyCommandRule = auditRule({
  name: "k8s-kubelet-command-via-proxy",
  technique: techniques.containerAdministrationCommand,
  matches: (e) => e.k8s?.resource === "nodes" && e.k8s.subresource === "proxy" && kubeletCommandOf(e.url) !== undefined,
  risk: (r) => (allowedCount(r) > 0 ? 80 : 50),
  summary: (actor, r) => {
    const targets = [...new Set(r.map((e) => {
      const c = kubeletCommandOf(e.url)!;
      return `${c.endpoint} on node ${c.node}${c.pod ? ` into ${c.pod}` : ""}`;
    }))];
    return `${actor} sent ${r.length} kubelet command request(s) through nodes/proxy: ${targets.join(", ")} (${allowedCount(r)} allowed)`;
  },
});

/**
 * A token requested (TokenRequest, `kubectl create token`) for a service account by someone other than that service
 * account: whoever may do it can act as the account, whatever its roles. Kubelets (for their pods) and the control
 * plane are system identities and left out; a refused attempt counts too, lower.
 */
export const serviceAccountTokenRule = auditRule({
  name: "k8s-token-for-another-serviceaccount",
  technique: techniques.stealApplicationAccessToken,
  matches: (e) => e.k8s?.resource === "serviceaccounts" && e.k8s.subresource === "token" && e.k8s.verb === "create" && !isSystemIdentity(e.actor)
    && e.actor !== `system:serviceaccount:${e.k8s.namespace ?? ""}:${e.k8s.name ?? ""}`,
  risk: (r) => (allowedCount(r) > 0 ? 65 : 35),
  summary: (actor, r) => `${actor} requested token(s) for service account(s) ${[...new Set(r.map(where))].join(", ")} (${allowedCount(r)} of ${r.length} allowed)`,
});

/** The label the MiniXdr operator puts on what it manages, and selects its informers' lists and watches by. */
const managedByOperator = "app.kubernetes.io/managed-by=minixdr-operator";

/**
 * A list or watch by one of the operator's identities selecting only the Secrets it manages (its informer's, in every
 * namespace, at every start and watch renewal): not secret access. The same identity reading other Secrets is.
 */
function operatorInformer(e: SecurityEvent, config: DetectionConfig): boolean {
  if (!config.kubernetes.operatorIdentities.includes(e.actor) || (e.k8s?.verb !== "list" && e.k8s?.verb !== "watch")) return false;
  const selector = new URL(e.url ?? "", "https://api.invalid").searchParams.get("labelSelector") ?? "";
  return selector.split(",").some((r) => r.trim().replace("==", "=") === managedByOperator);
}

/** Reads of secrets: a cluster-wide list or watch is cross-namespace by itself; otherwise two namespaces or more. */
export const secretsAccessRule = auditRule({
  name: "k8s-secrets-across-namespaces",
  technique: techniques.containerApiCredentials,
  matches: (e, config) => e.k8s?.resource === "secrets" && ["get", "list", "watch"].includes(e.k8s.verb) && !isSystemIdentity(e.actor) && !operatorInformer(e, config),
  enough: (r) => r.some((e) => e.k8s?.namespace === undefined && e.k8s?.verb !== "get") || new Set(r.map((e) => e.k8s?.namespace)).size >= 2,
  risk: (r) => (allowedCount(r) > 0 ? 75 : 45),
  summary: (actor, r) => {
    const namespaces = [...new Set(r.map((e) => e.k8s?.namespace ?? "(all namespaces)"))];
    return `${actor} read or listed secrets in ${namespaces.join(", ")} (${allowedCount(r)} of ${r.length} requests allowed)`;
  },
});

export const privilegedPodRule = auditRule({
  name: "k8s-privileged-or-hostpath-pod",
  technique: techniques.escapeToHost,
  // A pod or a workload whose pod template asks for it, or an ephemeral container added to a running pod (`kubectl debug
  // --profile=sysadmin`), by a person or a service account of theirs. Not the platform's own: the DaemonSet controller
  // creating kube-proxy's pods and a kubelet's static pods did so on every node join (the workload a person created is
  // what is judged, by its template).
  // (Ingest sets privileged and hostPath from the pod spec of the requests that carry one.)
  matches: (e) => (e.k8s?.subresource === undefined || e.k8s.subresource === "ephemeralcontainers")
    && (e.k8s?.privileged === true || e.k8s?.hostPath === true) && !isSystemIdentity(e.actor),
  // Admitted, not only authorized: a pod an admission webhook failed on (a 500) was never created.
  risk: (r) => (r.some(wasAdmitted) ? 85 : 55),
  summary: (actor, r) => {
    const what = r.some((e) => e.k8s?.privileged) ? (r.some((e) => e.k8s?.hostPath) ? "privileged and hostPath" : "privileged") : "hostPath";
    const debug = r.filter((e) => e.k8s?.subresource === "ephemeralcontainers");
    const made = r.filter((e) => !debug.includes(e));
    const kinds = [...new Set(made.map((e) => (e.k8s?.resource === "pods" ? "pod(s)" : `${e.k8s?.resource ?? ""} (pod template)`)))].join(", ");
    const created = made.length === 0 ? "" : `created ${what} ${kinds} ${[...new Set(made.map(where))].join(", ")}`;
    const added = debug.length === 0 ? "" : `added ${what} debug container(s) to ${[...new Set(debug.map(where))].join(", ")}`;
    return `${actor} ${[created, added].filter(Boolean).join(" and ")} (${r.filter(wasAdmitted).length} admitted)`;
  },
});

export const clusterAdminBindingRule = auditRule({
  name: "k8s-cluster-admin-binding",
  technique: techniques.additionalContainerClusterRoles,
  matches: (e) => (e.k8s?.resource === "clusterrolebindings" || e.k8s?.resource === "rolebindings") && e.k8s.roleRef === "ClusterRole/cluster-admin" && !isSystemIdentity(e.actor),
  risk: (r) => (allowedCount(r) > 0 ? 90 : 50),
  summary: (actor, r) => `${actor} bound cluster-admin via ${[...new Set(r.map((e) => `${e.k8s?.resource ?? ""} ${where(e)}`))].join(", ")} (${allowedCount(r)} allowed)`,
});

/**
 * A Role or ClusterRole written to grant what goes around RBAC: `cluster-admin` under another name (every verb on every
 * resource), `escalate`/`bind` on roles, `impersonate`. Binding such a role evaded the cluster-admin binding rule. The
 * same technique, so a role made and bound by one identity is one incident. A refused attempt (RBAC refuses to grant
 * what the writer does not hold) counts too, lower.
 */
export const escalatingRoleRule = auditRule({
  name: "k8s-escalating-role",
  technique: techniques.additionalContainerClusterRoles,
  matches: (e) => (e.k8s?.resource === "roles" || e.k8s?.resource === "clusterroles") && (e.k8s.roleGrants?.length ?? 0) > 0 && !isSystemIdentity(e.actor),
  risk: (r) => (allowedCount(r) > 0 ? 75 : 45),
  summary: (actor, r) => {
    const grants = [...new Set(r.flatMap((e) => e.k8s?.roleGrants ?? []))].sort().join(", ");
    return `${actor} wrote role(s) granting ${grants}: ${[...new Set(r.map((e) => `${e.k8s?.resource ?? ""} ${where(e)}`))].join(", ")} (${allowedCount(r)} of ${r.length} allowed)`;
  },
});

/** Anonymous requests the API server lets through, beyond the public health and discovery endpoints. */
// kube-public/cluster-info is read anonymously by every `kubeadm join` (kubeadm binds it for that).
const publicEndpoint = /^\/(healthz|livez|readyz|version)(\/|\?|$)|^\/\.well-known\/openid-configuration|^\/openid\/v1\/jwks|^\/api\/v1\/namespaces\/kube-public\/configmaps\/cluster-info(\?|$)/;

export const anonymousRequestRule = auditRule({
  name: "k8s-anonymous-request-allowed",
  technique: techniques.defaultAccounts,
  matches: (e) => isAnonymous(e) && wasAllowed(e) && !publicEndpoint.test(e.url ?? ""),
  risk: () => 70,
  summary: (_actor, r) => `anonymous requests allowed: ${[...new Set(r.map((e) => `${e.k8s?.verb ?? ""} ${e.url ?? ""}`))].slice(0, 3).join(", ")}`,
});
