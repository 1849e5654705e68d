// The normalized event every ingest format is turned into; rules and the store only see this shape.

export const eventSources = ["cowrie", "suricata", "k8s-audit", "generic"] as const;
export type EventSource = (typeof eventSources)[number];

/** The normalized vocabulary of what happened; it is also the `type` field of the generic event schema. */
export const eventKinds = [
  "auth.failure",
  "auth.success",
  "session.connect",
  "session.closed",
  "command",
  "file.download",
  "file.upload",
  "network.flow",
  "network.alert",
  "ssh.handshake",
  "http.request",
  "k8s.audit",
  "other",
] as const;
export type EventKind = (typeof eventKinds)[number];

export interface AlertDetails {
  signature: string;
  signatureId?: number;
  category?: string;
  /** Suricata severity: 1 is the most severe, 3 the least. */
  severity?: number;
  action?: string;
}

export interface HttpDetails {
  method?: string;
  host?: string;
  url?: string;
  status?: number;
  userAgent?: string;
}

export interface K8sAuditDetails {
  auditId: string;
  stage: string;
  /** Who sent the request (the authenticated user), also when acting as another identity. */
  user: string;
  /** The identity the user acted as (impersonation), if any: what the API server authorized the request as. */
  impersonatedUser?: string;
  groups: string[];
  verb: string;
  resource?: string;
  subresource?: string;
  apiGroup?: string;
  namespace?: string;
  name?: string;
  /** HTTP status of the API server's answer, when the stage has one. */
  code?: number;
  /** The authorizer's decision annotation ("allow" or "forbid"), when present. */
  decision?: string;
  /** A pod in the request asks for privileged containers or host namespaces. */
  privileged?: boolean;
  /** A pod in the request mounts a hostPath volume. */
  hostPath?: boolean;
  /** `Kind/name` of the role a (Cluster)RoleBinding in the request grants. */
  roleRef?: string;
  /** What a write to a Role or ClusterRole grants that goes around RBAC (every verb on every resource, escalate, bind, impersonate). */
  roleGrants?: string[];
}

export interface SecurityEvent {
  tenant: string;
  /** Stable per tenant: the source's own id when it has one, otherwise the event time and a digest of the raw record (time first, so ids sort by time), so a retried batch is not counted twice. */
  id: string;
  source: EventSource;
  kind: EventKind;
  /** Event time in ms since the epoch, from the source's own timestamp (never the arrival time). */
  time: number;
  receivedAt: number;
  sourceIp: string;
  /** Who acted, for sources that authenticate (the Kubernetes user); empty otherwise. */
  actor: string;
  /** The source's own name for the record, e.g. `cowrie.login.failed` or `alert`. */
  sourceType: string;
  sensor?: string;
  session?: string;
  destIp?: string;
  destPort?: number;
  protocol?: string;
  username?: string;
  password?: string;
  command?: string;
  url?: string;
  fileHash?: string;
  bytesOut?: number;
  bytesIn?: number;
  message?: string;
  alert?: AlertDetails;
  http?: HttpDetails;
  k8s?: K8sAuditDetails;
}

/** What an incident keeps about each event it is based on. */
export interface EventRef {
  id: string;
  kind: EventKind;
  time: number;
  source: EventSource;
}

export function eventRef(e: SecurityEvent): EventRef {
  return { id: e.id, kind: e.kind, time: e.time, source: e.source };
}
