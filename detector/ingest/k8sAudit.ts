// Kubernetes audit events: the audit.k8s.io/v1 EventList kube-apiserver's audit webhook POSTs, or Event lines from an audit log.
import { hash } from "node:crypto";
import { z } from "zod";
import type { K8sAuditDetails, SecurityEvent } from "../events/securityEvent.ts";
import { eventTime, ipField, timestampField } from "./fields.ts";
import { ignoredRecord, type IngestFormat, type NormalizeContext } from "./ingestFormat.ts";
import { parseRecordBatch, type RecordBatch } from "./recordBatch.ts";

// A bound that keeps the acting user within an index row (the store indexes incident actors). The audit ID is not
// bounded: the client sets it (the Audit-ID header, taken as it is), so a bound would let anyone have a whole webhook
// batch refused; a long one is digested in the event id instead.
const userInfo = z.looseObject({
  username: z.string().max(512).optional(),
  groups: z.array(z.string()).optional(),
});
const impersonatedUserInfo = z.looseObject({ username: z.string().optional(), groups: z.array(z.string()).optional() });

export const auditEventSchema = z.looseObject({
  // Items of an EventList carry no type fields; a standalone Event (an audit log line) does.
  apiVersion: z.literal("audit.k8s.io/v1").optional(),
  kind: z.literal("Event").optional(),
  level: z.enum(["None", "Metadata", "Request", "RequestResponse"]),
  auditID: z.string().min(1),
  stage: z.enum(["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]),
  requestURI: z.string(),
  verb: z.string().min(1),
  user: userInfo,
  impersonatedUser: impersonatedUserInfo.optional(),
  sourceIPs: z.array(ipField).min(1),
  userAgent: z.string().optional(),
  objectRef: z.looseObject({
    resource: z.string().optional(),
    subresource: z.string().optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    apiGroup: z.string().optional(),
  }).optional(),
  responseStatus: z.looseObject({ code: z.number().int().optional() }).optional(),
  requestObject: z.unknown().optional(),
  responseObject: z.unknown().optional(),
  requestReceivedTimestamp: timestampField,
  stageTimestamp: timestampField,
  annotations: z.record(z.string(), z.string()).optional(),
});

type AuditEvent = z.infer<typeof auditEventSchema>;

const eventList = z.looseObject({ kind: z.literal("EventList"), apiVersion: z.literal("audit.k8s.io/v1"), items: z.array(z.unknown()) });

/** An EventList is unwrapped to its items; anything else is read as one Event, an array or NDJSON. */
function auditRecords(body: string): RecordBatch {
  const batch = parseRecordBatch(body);
  const only = batch.records.length === 1 ? (batch.records[0] as { kind?: unknown } | undefined) : undefined;
  if (only && typeof only === "object" && only.kind === "EventList") {
    const list = eventList.safeParse(only);
    if (!list.success) {
      return { records: [], issues: list.error.issues.map((i) => ({ item: 0, field: i.path.map(String).join(".") || "(item)", message: `EventList: ${i.message}` })) };
    }
    return { records: list.data.items, issues: [] };
  }
  return batch;
}

/** The longest audit ID kept as it is in an event id (a longer one is digested there; the event keeps it as any text, normalizeBatch.ts). */
const maxAuditIdInEventId = 200;

/**
 * The event's id: its audit ID and stage, as a retried webhook batch repeats them, and a digest of the whole record.
 * The audit ID alone is the client's to choose (the Audit-ID header), so two requests can carry one: keyed by it alone,
 * a request sent under the audit ID of an earlier one was dropped as its duplicate (an exec hidden behind a harmless
 * get), and two in one batch had the batch refused.
 */
function auditEventId(e: AuditEvent, record: unknown): string {
  const auditId = e.auditID.length <= maxAuditIdInEventId ? e.auditID : `sha256-${hash("sha256", e.auditID, "hex")}`;
  return `k8s-audit:${auditId}:${e.stage}:${hash("sha256", JSON.stringify(record), "hex").slice(0, 32)}`;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** Where the pod spec is in a request body of each resource that carries one (a pod's own, or a workload's template). */
const podSpecPaths: Record<string, readonly string[]> = {
  pods: ["spec"],
  deployments: ["spec", "template", "spec"],
  daemonsets: ["spec", "template", "spec"],
  statefulsets: ["spec", "template", "spec"],
  replicasets: ["spec", "template", "spec"],
  replicationcontrollers: ["spec", "template", "spec"],
  jobs: ["spec", "template", "spec"],
  cronjobs: ["spec", "jobTemplate", "spec", "template", "spec"],
};

/**
 * Capabilities that open a way out of the container: SYS_ADMIN (mounts, cgroups), SYS_MODULE (kernel modules),
 * SYS_PTRACE (other processes, with hostPID the node's), DAC_READ_SEARCH (reading host files by handle), SYS_RAWIO,
 * BPF, and ALL.
 */
const escapeCapabilities = new Set(["ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_RAWIO", "BPF"]);
const isEscapeCapability = (c: unknown) => typeof c === "string" && escapeCapabilities.has(c.toUpperCase().replace(/^CAP_/, ""));

interface PodRisks {
  privileged: boolean;
  hostPath: boolean;
}

/**
 * What a piece of a pod spec asks for, read wherever it sits: `key` is the field holding `value` (a JSON patch op's
 * path ends in it: `/spec/template/spec/hostPID` with true, `.../securityContext` with {privileged: true}).
 */
function scanRisks(value: unknown, key: string, out: PodRisks, depth = 0): void {
  if (depth > 64) return;
  if ((key === "hostPID" || key === "hostIPC" || key === "hostNetwork" || key === "privileged" || key === "hostProcess") && value === true) out.privileged = true;
  else if (key === "hostPath" && asRecord(value)) out.hostPath = true;
  else if (key === "add" && (Array.isArray(value) ? value.some(isEscapeCapability) : isEscapeCapability(value))) out.privileged = true;
  if (Array.isArray(value)) for (const v of value) scanRisks(v, key === "add" ? "" : key, out, depth + 1);
  else if (asRecord(value)) for (const [k, v] of Object.entries(value as Record<string, unknown>)) scanRisks(v, k, out, depth + 1);
}

/**
 * Privileged containers, dangerous capabilities, host namespaces or hostPath volumes asked for by a write to a pod,
 * its ephemeral containers or a workload's template: in its body (an object, a merge patch), or in the ops of a JSON
 * patch (`kubectl patch --type=json` adding hostPID or a privileged securityContext was read as nothing).
 */
function podRisks(resource: string, requestObject: unknown): PodRisks {
  const out: PodRisks = { privileged: false, hostPath: false };
  if (Array.isArray(requestObject)) {
    for (const op of requestObject) {
      const o = asRecord(op);
      if (!o || (o.op !== "add" && o.op !== "replace") || typeof o.path !== "string") continue;
      // The op's last path segment names the field its value is for ("-" and indexes: the list's own field).
      const segments = o.path.split("/").filter((x) => x !== "-" && !/^\d+$/.test(x));
      scanRisks(o.value, segments.at(-1) ?? "", out);
    }
    return out;
  }
  let spec: Record<string, unknown> | undefined = asRecord(requestObject);
  for (const key of podSpecPaths[resource] ?? []) spec = asRecord(spec?.[key]);
  if (spec) scanRisks(spec, "", out);
  return out;
}

/** The object's name in a create's body; a controller's pod has only a generateName prefix (shown as `prefix*`). */
function nameOf(requestObject: unknown): string | undefined {
  const metadata = asRecord(asRecord(requestObject)?.metadata);
  if (typeof metadata?.name === "string") return metadata.name;
  return typeof metadata?.generateName === "string" ? `${metadata.generateName}*` : undefined;
}

function roleRefOf(object: unknown): string | undefined {
  const ref = asRecord(asRecord(object)?.roleRef);
  return typeof ref?.kind === "string" && typeof ref.name === "string" ? `${ref.kind}/${ref.name}` : undefined;
}

/**
 * The role a write to a binding grants. A binding's roleRef never changes, so a patch (adding a subject) does not
 * carry it: it is read from the resulting object when the audit level records it, and the built-in cluster-admin
 * ClusterRoleBinding is known by its name. (At Metadata level a create carries no body either: nothing to read.)
 */
function grantedRole(e: AuditEvent): string | undefined {
  return roleRefOf(e.requestObject) ?? roleRefOf(e.responseObject)
    ?? (e.objectRef?.resource === "clusterrolebindings" && e.objectRef.name === "cluster-admin" ? "ClusterRole/cluster-admin" : undefined);
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/**
 * What the rules of a Role or ClusterRole grant that goes around RBAC: every verb on every resource (cluster-admin by
 * another name), `escalate` or `bind` on roles (granting what one does not hold), `impersonate` on users, groups or
 * service accounts (acting as anyone). Read from every PolicyRule in the request (an object, a merge patch, a JSON
 * patch's op values) and the response (the role as stored, at level RequestResponse); a wildcard verb grants them all.
 */
function escalatingGrants(value: unknown, out: Set<string>, depth = 0): void {
  if (depth > 32) return;
  if (Array.isArray(value)) {
    for (const v of value) escalatingGrants(v, out, depth + 1);
    return;
  }
  const o = asRecord(value);
  if (!o) return;
  if (Array.isArray(o.verbs)) {
    const verbs = strings(o.verbs);
    const resources = strings(o.resources).map((r) => r.split("/")[0]);
    const grants = (verb: string, ...on: string[]) => (verbs.includes("*") || verbs.includes(verb)) && (resources.includes("*") || on.some((r) => resources.includes(r)));
    // Every verb on every resource says it all; the others are named where they are granted apart.
    if (verbs.includes("*") && resources.includes("*")) out.add("every verb on every resource");
    else {
      for (const verb of ["escalate", "bind"]) if (grants(verb, "roles", "clusterroles")) out.add(`${verb} on roles`);
      if (grants("impersonate", "users", "groups", "serviceaccounts", "userextras", "uids")) out.add("impersonate");
    }
  }
  for (const v of Object.values(o)) escalatingGrants(v, out, depth + 1);
}

export const k8sAuditFormat: IngestFormat = {
  source: "k8s-audit",
  records: auditRecords,
  schema: auditEventSchema,
  normalize(raw: unknown, ctx: NormalizeContext): SecurityEvent | typeof ignoredRecord {
    const e = raw as AuditEvent;
    // RequestReceived repeats what the later stage says, without the outcome.
    if (e.stage === "RequestReceived") return ignoredRecord;
    // The user who sent it, not the identity it impersonated: `--as system:kube-controller-manager` must not make a
    // request the platform's own.
    const actor = e.user.username ?? "";
    const writesBody = ["create", "update", "patch"].includes(e.verb);
    const details: K8sAuditDetails = {
      auditId: e.auditID,
      stage: e.stage,
      user: actor,
      ...(e.impersonatedUser?.username !== undefined ? { impersonatedUser: e.impersonatedUser.username } : {}),
      groups: e.user.groups ?? [],
      verb: e.verb,
      resource: e.objectRef?.resource,
      subresource: e.objectRef?.subresource,
      apiGroup: e.objectRef?.apiGroup,
      namespace: e.objectRef?.namespace,
      // A create names its object in the body, not in the URL.
      name: e.objectRef?.name ?? nameOf(e.requestObject),
      code: e.responseStatus?.code,
      decision: e.annotations?.["authorization.k8s.io/decision"],
    };
    const resource = e.objectRef?.resource ?? "";
    if (writesBody && podSpecPaths[resource]) Object.assign(details, podRisks(resource, e.requestObject));
    if (writesBody && /rolebindings$/.test(e.objectRef?.resource ?? "")) details.roleRef = grantedRole(e);
    if (writesBody && (resource === "roles" || resource === "clusterroles")) {
      const grants = new Set<string>();
      escalatingGrants(e.requestObject, grants);
      escalatingGrants(e.responseObject, grants);
      if (grants.size > 0) details.roleGrants = [...grants].sort();
    }
    return {
      tenant: ctx.tenant,
      id: auditEventId(e, raw),
      source: "k8s-audit",
      kind: "k8s.audit",
      sourceType: `${e.verb} ${e.objectRef?.resource ?? e.requestURI}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`,
      time: eventTime(e.requestReceivedTimestamp),
      receivedAt: ctx.receivedAt,
      // The last entry is the connection's peer address; the ones before it come from X-Forwarded-For and X-Real-Ip,
      // which the client sets (so an attacker would pick a new source for every request).
      sourceIp: e.sourceIPs.at(-1) ?? "",
      actor,
      message: e.userAgent,
      url: e.requestURI,
      k8s: details,
    };
  },
};
