// The MiniXdr API: one zod schema gives the TypeScript types, the in-memory defaults and the CRD's openAPIV3Schema.
// Defaults are applied in memory only (never written to the object), so GitOps tools see no diffs.
import { z } from "zod";
// isCidr: what CEL's isCIDR takes, the same check the detector applies to its suppressions.
import { isCidr } from "../../detector/config/detectorConfig.ts";
import { DEFAULT_ANOMALY_THRESHOLD } from "../../detector/ml/threshold.ts";
import { quantityValue } from "./quantity.ts";

export const group = "xdr.minixdr.io";
export const version = "v1alpha1";
export const kind = "MiniXdr";
export const plural = "minixdrs";
export const apiVersion = `${group}/${version}`;
export const pausedAnnotation = `${group}/paused`;
export const defaultImage = "ghcr.io/minixdr/minixdr:0.1.0";

type CelRule = { rule: string; message: string; fieldPath?: string; reason?: string };
const cel = (...rules: CelRule[]) => ({ "x-kubernetes-validations": rules });

/**
 * A rule the API server checks (CEL, in the CRD) that the operator also checks in memory (`holds`, on the parsed value,
 * defaults applied): `minixdr render` and a spec stored before a stricter CRD are refused as `kubectl apply` would be.
 */
interface SpecRule<T> extends CelRule {
  holds(self: T): boolean;
}

function checked<S extends z.ZodType>(schema: S, ...rules: SpecRule<z.output<S>>[]): S {
  // Rules the schema already carries (labelMap's key check) stay: the CRD's list of them would otherwise be replaced.
  const inherited = (schema.meta()?.["x-kubernetes-validations"] as CelRule[] | undefined) ?? [];
  return schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (!r.holds(value)) ctx.addIssue({ code: "custom", message: r.message, path: r.fieldPath ? r.fieldPath.slice(1).split(".") : [] });
    }
  }).meta(cel(...inherited, ...rules.map(({ rule, message, fieldPath }) => ({ rule, message, ...(fieldPath ? { fieldPath } : {}) }))));
}

const opaque = { "x-kubernetes-preserve-unknown-fields": true };

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A non-negative Kubernetes quantity ("500m", "1.5Gi", "2e3"): what the API server would take for a request, limit or size. */
const quantityPattern = /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const durationPattern = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
/**
 * An image reference in the grammar of distribution/reference (what the container runtime parses): an optional registry
 * host (any case, an IPv6 address in brackets, an optional port), lowercase path components separated by '.', '_', '__'
 * or any number of '-', an optional tag and an optional digest.
 */
const imagePattern = (() => {
  const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
  const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`;
  const pathComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
  const name = `(?:${host}(?::[0-9]+)?/)?${pathComponent}(?:/${pathComponent})*`;
  const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
  return new RegExp(`^${name}(?::\\w[\\w.-]{0,127})?(?:@${digest})?$`);
})();

/**
 * Kubernetes qualified names (label keys, toleration keys, resource names): an optional DNS-subdomain prefix and '/', then
 * a name of at most 63 characters. The prefix's limit of 253 characters is a CEL rule (qualifiedPrefixFits).
 */
const qualifiedNameSource = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const qualifiedName = new RegExp(qualifiedNameSource);
const qualifiedPrefixFits = (k: string, most = 253) => `(!${k}.contains('/') || ${k}.indexOf('/') <= ${most})`;
/** A label value: at most 63 characters, alphanumeric at both ends, '-', '_' and '.' inside; or empty. */
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const name = (what: string) => z.string().min(1).max(253).regex(dnsSubdomain).describe(what);
const labelMap = (what: string) => z.record(z.string().max(317).regex(qualifiedName).refine((k) => !k.includes("/") || k.indexOf("/") <= 253, "the prefix before '/' must be at most 253 characters"), z.string().max(63).regex(labelValue))
  .meta({
    maxProperties: 64,
    ...cel({
      rule: `self.all(k, k.matches('${qualifiedNameSource}') && ${qualifiedPrefixFits("k")})`,
      message: "label keys must be qualified names: an optional DNS subdomain prefix (at most 253 characters) and '/', " +
        "then at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit (e.g. app.kubernetes.io/name)",
    }),
  })
  .describe(`${what} Values: at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit, or empty.`);
const intOrPercent = (what: string, least = 0) =>
  z.union([z.number().int().min(least), z.string().regex(least > 0 ? /^(100|[1-9][0-9]?)%$/ : /^(100|[1-9]?[0-9])%$/)])
    .meta({ "x-kubernetes-int-or-string": true })
    .describe(`${what}: a number of pods or a percentage such as "50%".`);

// Whole numbers or strings, as the CRD's int-or-string takes them (a structural schema has no "number or string"): 0.5
// is written "0.5" or "500m".
const quantity = z.union([z.number().int().min(0), z.string().regex(quantityPattern)]).meta({ "x-kubernetes-int-or-string": true });

// Container resource names as Kubernetes' validateContainerResourceName takes them: cpu, memory, ephemeral-storage,
// hugepages-<page size>, a kubernetes.io/ name, or an extended resource with a domain prefix (nvidia.com/gpu) whose
// quota name requests.<name> is still a qualified name. Hugepages and extended resources cannot be overcommitted.
const standardResources = ["cpu", "memory", "ephemeral-storage"];
const isExtended = (k: string) => `(${k}.contains('/') && !${k}.contains('kubernetes.io/'))`;
const noOvercommit = (k: string) => `(${k}.startsWith('hugepages-') || ${isExtended(k)})`;
const resourceNameRule = (k: string) => `${k}.matches('${qualifiedNameSource}') && (${k}.contains('/') ` +
  `? (${k}.contains('kubernetes.io/') ? ${k}.indexOf('/') <= 253 : !${k}.startsWith('requests.') && ${k}.indexOf('/') <= 244) ` +
  `: (${k} in ${JSON.stringify(standardResources).replaceAll('"', "'")} || (${k}.startsWith('hugepages-') && isQuantity(${k}.substring(10)))))`;
function isResourceName(k: string): boolean {
  if (!qualifiedName.test(k)) return false;
  const slash = k.indexOf("/");
  if (slash < 0) return standardResources.includes(k) || (k.startsWith("hugepages-") && quantityPattern.test(k.slice(10)));
  return k.includes("kubernetes.io/") ? slash <= 253 : !k.startsWith("requests.") && slash <= 244;
}
const extended = (k: string) => k.includes("/") && !k.includes("kubernetes.io/");
/**
 * A CEL check of quantities that holds when one of them is no quantity at all: the schema's pattern already refuses
 * that, naming the field, and `quantity()` of it would add a second, confusing error ("quantities must match the
 * regular expression ... evaluating rule: size must be greater than zero") to the same refusal.
 */
function unlessNotQuantity(values: string | string[], check: string): string {
  return `(${[values].flat().map((v) => `!isQuantity(${v})`).join(" || ")} || ${check})`;
}

const amount = (q: string | number) => quantityValue(String(q)) ?? Number.NaN;
const resourceList = (what: string) => checked(
  z.record(z.string().refine(isResourceName, "not a container resource name"), quantity).meta({ maxProperties: 8 }),
  {
    rule: `self.all(k, ${resourceNameRule("k")})`,
    message: "resource names must be cpu, memory, ephemeral-storage, hugepages-<page size>, or an extended resource with a domain prefix such as nvidia.com/gpu",
    holds: (self) => Object.keys(self).every(isResourceName),
  },
  {
    rule: `self.all(k, !${isExtended("k")} || ${unlessNotQuantity("string(self[k])", "quantity(string(self[k])).isInteger()")})`,
    message: "extended resources (such as nvidia.com/gpu) must be whole numbers",
    holds: (self) => Object.entries(self).every(([k, v]) => !extended(k) || Number.isInteger(amount(v))),
  },
  {
    rule: "!self.exists(k, k.startsWith('hugepages-')) || 'cpu' in self || 'memory' in self",
    message: "hugepages need cpu or memory set as well",
    holds: (self) => !Object.keys(self).some((k) => k.startsWith("hugepages-")) || "cpu" in self || "memory" in self,
  },
).describe(what);

export const resourcesSchema = checked(z.strictObject({
  requests: resourceList("Minimum resources, e.g. {cpu: 100m, memory: 256Mi}. A quantity is a string (\"500m\", \"0.5\", \"1Gi\") or a whole number.").optional(),
  limits: resourceList("Maximum resources, e.g. {memory: 512Mi}.").optional(),
}),
  {
    rule: "!has(self.requests) || !has(self.limits) || " +
      `self.requests.all(k, !(k in self.limits) || ${unlessNotQuantity(["string(self.requests[k])", "string(self.limits[k])"], "quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0")})`,
    message: "each request must be less than or equal to its limit (e.g. requests.memory <= limits.memory)",
    fieldPath: ".requests",
    holds: ({ requests = {}, limits = {} }) => Object.entries(requests).every(([k, v]) => limits[k] === undefined || amount(v) <= amount(limits[k])),
  },
  {
    rule: `!has(self.requests) || self.requests.all(k, !${noOvercommit("k")} || ` +
      `(has(self.limits) && k in self.limits && ${unlessNotQuantity(["string(self.requests[k])", "string(self.limits[k])"], "quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) == 0")}))`,
    message: "hugepages and extended resources (such as nvidia.com/gpu) cannot be overcommitted: set a limit equal to the request",
    fieldPath: ".limits",
    holds: ({ requests = {}, limits = {} }) => Object.entries(requests)
      .every(([k, v]) => !(k.startsWith("hugepages-") || extended(k)) || (limits[k] !== undefined && amount(v) === amount(limits[k]))),
  },
).describe("Compute resources of the component's container.");

// The rules of Kubernetes' ValidateTolerations, so a toleration the pod would refuse is refused here.
const toleration = checked(z.strictObject({
  key: z.string().max(317).regex(new RegExp(`^$|${qualifiedNameSource}`)).optional().describe("Taint key (a qualified name); empty with operator Exists tolerates every taint."),
  operator: z.enum(["Exists", "Equal"]).optional().describe("Equal (the default) or Exists."),
  value: z.string().max(63).regex(labelValue).optional().describe("Taint value (a label value); empty with operator Exists."),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional().describe("Taint effect; empty matches every effect."),
  tolerationSeconds: z.number().int().optional().describe("How long a NoExecute taint is tolerated; only with effect NoExecute."),
}),
  {
    rule: `!has(self.key) || ${qualifiedPrefixFits("self.key")}`,
    message: "key: the prefix before '/' must be at most 253 characters",
    fieldPath: ".key",
    holds: ({ key }) => key === undefined || !key.includes("/") || key.indexOf("/") <= 253,
  },
  {
    rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
    message: "operator must be Exists when key is empty (which tolerates every taint)",
    fieldPath: ".operator",
    holds: ({ key, operator }) => (key ?? "") !== "" || operator === "Exists",
  },
  {
    rule: "!(has(self.operator) && self.operator == 'Exists') || !has(self.value) || self.value == ''",
    message: "value must be empty when operator is Exists",
    fieldPath: ".value",
    holds: ({ operator, value }) => operator !== "Exists" || (value ?? "") === "",
  },
  {
    rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
    message: "effect must be NoExecute when tolerationSeconds is set",
    fieldPath: ".effect",
    holds: ({ tolerationSeconds, effect }) => tolerationSeconds === undefined || effect === "NoExecute",
  },
);

// No matchLabelKeys: the API server merges them into labelSelector (1.34), which the operator would then see as drift.
const topologySpreadConstraint = z.strictObject({
  maxSkew: z.number().int().min(1).max(1000).describe("How unevenly the pods may be spread."),
  topologyKey: z.string().min(1).max(317).regex(qualifiedName).describe("Node label of the domains, e.g. topology.kubernetes.io/zone."),
  whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]).describe("Whether a pod that would break maxSkew waits (DoNotSchedule) or is placed anyway."),
  labelSelector: z.record(z.string(), z.unknown()).meta(opaque).optional()
    .describe("Pods counted, as in a PodSpec. Unset: the component's own pods (its selector labels)."),
  minDomains: z.number().int().min(1).max(1000).optional().describe("Fewest eligible domains (only with DoNotSchedule)."),
  nodeAffinityPolicy: z.enum(["Honor", "Ignore"]).optional().describe("Whether nodeSelector and affinity limit the domains counted."),
  nodeTaintsPolicy: z.enum(["Honor", "Ignore"]).optional().describe("Whether tainted nodes the pods do not tolerate are counted."),
});

const scheduling = {
  nodeSelector: labelMap("Node labels the component's pods must match.").optional(),
  tolerations: z.array(toleration).max(32).optional().describe("Taints the component's pods tolerate."),
  affinity: z.record(z.string(), z.unknown()).meta(opaque).optional().describe("Pod affinity, as in a PodSpec."),
  topologySpreadConstraints: z.array(checked(topologySpreadConstraint, {
    rule: "!has(self.minDomains) || self.whenUnsatisfiable == 'DoNotSchedule'",
    message: "minDomains needs whenUnsatisfiable: DoNotSchedule",
    fieldPath: ".minDomains",
    holds: ({ minDomains, whenUnsatisfiable }) => minDomains === undefined || whenUnsatisfiable === "DoNotSchedule",
  })).max(8).optional()
    .describe("How the component's pods spread over zones or nodes, as in a PodSpec; a constraint without labelSelector counts the component's own pods."),
  priorityClassName: name("PriorityClass of the component's pods, e.g. so a security workload is not preempted first.").optional(),
  imagePullSecrets: z.array(z.strictObject({ name: name("Secret name.") })).max(16).optional()
    .describe("Secrets (in the MiniXdr's namespace) with credentials for a private registry, as in a PodSpec."),
};

export const autoscalingSchema = checked(z.strictObject({
  enabled: z.boolean().default(false).describe("Create a HorizontalPodAutoscaler; the Deployment's replicas is then left to it."),
  minReplicas: z.number().int().min(1).max(100).default(2).describe("Fewest replicas."),
  maxReplicas: z.number().int().min(1).max(100).default(10).describe("Most replicas."),
  targetCPUUtilizationPercentage: z.number().int().min(1).max(100).optional().describe("Average CPU utilization to aim for. Defaults to 80 when no memory target is set either."),
  targetMemoryUtilizationPercentage: z.number().int().min(1).max(100).optional().describe("Average memory utilization to aim for."),
  behavior: z.record(z.string(), z.unknown()).meta(opaque).optional().describe("Scaling behavior, as in autoscaling/v2 HorizontalPodAutoscalerBehavior."),
}), {
  rule: "(has(self.minReplicas) ? self.minReplicas : 2) <= (has(self.maxReplicas) ? self.maxReplicas : 10)",
  message: "minReplicas must be less than or equal to maxReplicas (defaults: 2 and 10)",
  fieldPath: ".minReplicas",
  holds: ({ minReplicas, maxReplicas }) => minReplicas <= maxReplicas,
}).describe("Horizontal autoscaling of the component.");

export const disruptionBudgetSchema = checked(z.strictObject({
  enabled: z.boolean().default(false).describe("Create a PodDisruptionBudget. With one replica it never blocks a drain."),
  minAvailable: intOrPercent("Pods that must stay available").optional(),
  // 0 would block every eviction, so a node drain could never finish: refused.
  maxUnavailable: intOrPercent("Pods that may be unavailable (at least 1 or 1%); defaults to 1 when minAvailable is not set", 1).optional(),
}), {
  rule: "!(has(self.minAvailable) && has(self.maxUnavailable))",
  message: "set either minAvailable or maxUnavailable, not both",
  fieldPath: ".minAvailable",
  holds: ({ minAvailable, maxUnavailable }) => minAvailable === undefined || maxUnavailable === undefined,
}).describe("PodDisruptionBudget of the component.");

/** Labels the operator sets on every pod (its Deployments select by the first three): not for podLabels to change. */
const reservedPodLabels = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of"];

const podMetadata = {
  podLabels: checked(labelMap("More labels on the component's pods, e.g. what a cluster's admission policy requires (cost-center, team)."), {
    rule: `!self.exists(k, k in [${reservedPodLabels.map((l) => `'${l}'`).join(", ")}])`,
    message: `podLabels must not set the labels the operator sets: ${reservedPodLabels.join(", ")}`,
    holds: (labels) => !Object.keys(labels).some((k) => reservedPodLabels.includes(k)),
  }).optional(),
  podAnnotations: checked(z.record(z.string().max(317).regex(qualifiedName), z.string().max(4096)).meta({ maxProperties: 32 }), {
    rule: `self.all(k, k.matches('${qualifiedNameSource}') && ${qualifiedPrefixFits("k")} && !k.startsWith('${group}/'))`,
    message: `podAnnotations keys must be qualified names (e.g. example.com/owner), and not under ${group}/, which the operator sets`,
    holds: (annotations) => Object.keys(annotations).every((k) => (!k.includes("/") || k.indexOf("/") <= 253) && !k.startsWith(`${group}/`)),
  }).optional().describe("More annotations on the component's pods."),
};

const componentBase = {
  image: z.string().max(512).regex(imagePattern).default(defaultImage).describe("Container image."),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).default("IfNotPresent").describe("When to pull the image."),
  replicas: z.number().int().min(1).max(100).default(1),
  resources: resourcesSchema.optional(),
  disruptionBudget: disruptionBudgetSchema.prefault({}),
  ...scheduling,
  ...podMetadata,
};

/** The operator's ServiceAccount as config/default installs it (namespace minixdr-system). */
const defaultOperatorIdentity = "system:serviceaccount:minixdr-system:minixdr-operator";

export const detectionSchema = z.strictObject({
  bruteForceThreshold: z.number().int().min(2).max(1000).default(6).describe("Failed logins from one source that make an SSH brute force (T1110.001)."),
  bruteForceWindowSeconds: z.number().int().min(1).max(86400).default(60).describe("Event-time window of the brute-force rule."),
  passwordSprayDistinctUsers: z.number().int().min(2).max(1000).default(5).describe("Distinct usernames tried from one source that make a password spray (T1110.003)."),
  portScanDistinctPorts: z.number().int().min(2).max(65535).default(20).describe("Distinct destination ports from one source that make a port scan (T1046)."),
  exfiltrationBytes: z.number().int().min(1024).default(104857600).describe("Outbound bytes from one source within the window that make a large transfer (T1048)."),
  windowSeconds: z.number().int().min(1).max(86400).default(300).describe("Event-time window of the password-spray, port-scan and large-transfer rules, unless set on its own below."),
  portScanWindowSeconds: z.number().int().min(1).max(86400).optional().describe("Event-time window of the port-scan rule alone (unset: windowSeconds)."),
  exfiltrationWindowSeconds: z.number().int().min(1).max(86400).optional().describe("Event-time window of the large-transfer rule alone (unset: windowSeconds)."),
  loginAfterFailuresThreshold: z.number().int().min(1).max(1000).default(3)
    .describe("Failed logins from one source that must precede a successful one for a login-after-failures incident (T1078)."),
  loginAfterFailuresWindowSeconds: z.number().int().min(1).max(86400).default(600).describe("How far back (event time) before a successful login its failed logins count."),
  toolDownloadWindowSeconds: z.number().int().min(1).max(86400).default(3600)
    .describe("How long after a successful login (event time) a tool download from the same source is attributed to it (T1105)."),
  kubernetesWindowSeconds: z.number().int().min(1).max(86400).default(600)
    .describe("Event-time span over which one identity's matching Kubernetes audit requests make one incident."),
  kubernetesOperatorIdentities: z.array(z.string().min(1).max(512)).max(16).default([defaultOperatorIdentity])
    .describe("The Kubernetes users this operator runs as: their lists and watches of the Secrets it manages (selected by its managed-by label) are not secret access (T1552.007); anything else they do is judged like anyone's. The default is the ServiceAccount config/default installs; name yours if you install the operator elsewhere."),
  suppressions: z.array(checked(z.strictObject({
    techniques: z.array(z.string().regex(/^(T\d{4}(\.\d{3})?|anomaly)$/)).min(1).max(32).optional().describe("ATT&CK technique ids (T1046, T1110.001) or anomaly (the model's own incidents)."),
    sourceCidrs: z.array(z.string().max(64)).min(1).max(64).optional().describe("Source addresses, as CIDR blocks."),
    actors: z.array(z.string().min(1).max(512)).min(1).max(64).optional().describe("Acting identities (Kubernetes users)."),
    namespaces: z.array(z.string().regex(dnsLabel).max(63)).min(1).max(64).optional()
      .describe("Kubernetes namespaces: covered when every Kubernetes request of the evidence is in one of them."),
  }), {
    rule: "has(self.techniques) || has(self.sourceCidrs) || has(self.actors) || has(self.namespaces)",
    message: "a suppression must name at least one of techniques, sourceCidrs, actors, namespaces",
    holds: (s) => s.techniques !== undefined || s.sourceCidrs !== undefined || s.actors !== undefined || s.namespaces !== undefined,
  }, {
    rule: "!has(self.sourceCidrs) || self.sourceCidrs.all(c, isCIDR(c))", message: "sourceCidrs must be CIDR blocks such as 10.0.0.0/8", fieldPath: ".sourceCidrs",
    holds: ({ sourceCidrs }) => (sourceCidrs ?? []).every(isCidr),
  })).max(50).default([])
    .describe("Detections not to record: each suppression covers a detection that matches every field it names, which then raises no incident (a monitoring poller's port sweep, a backup's transfer, developers' exec in their own namespaces)."),
  anomalyThreshold: z.number().min(0).max(1).default(DEFAULT_ANOMALY_THRESHOLD)
    .describe("ONNX anomaly score at or above which an anomaly incident is raised; the default is the committed model's tuned threshold (detector/ml/MODEL_CARD.md)."),
}).describe("Detection thresholds.");

export const detectorConfigSchema = z.strictObject({
  detection: detectionSchema.prefault({}),
  containmentMode: z.enum(["alert", "block"]).default("alert").describe("alert: record incidents only; block: incidents carry a recommended block action."),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info").describe("Detector log level."),
  // A set: the API server refuses a repeated tenant itself ("Duplicate value"); the refine is the operator's own check.
  tenants: checked(z.array(z.string().regex(dnsLabel).max(63)).min(1).max(100)
    .superRefine((tenants, ctx) => {
      const i = tenants.findIndex((t, j) => tenants.indexOf(t) !== j);
      if (i >= 0) ctx.addIssue({ code: "custom", message: `Duplicate value: ${JSON.stringify(tenants[i])}`, path: [i] });
    }).meta({ "x-kubernetes-list-type": "set" }), {
    // The first admin (from the Secret) and a bare ingest token belong to tenant default: without it nobody can log in.
    rule: "'default' in self",
    message: "tenants must include default, the tenant of the first admin and of a bare ingest token",
    holds: (tenants) => tenants.includes("default"),
  }).default(["default"]).describe("Tenants the detector accepts events for; default must be one of them."),
}).describe("Detector configuration, rendered into its ConfigMap; a change rolls the pods.");

/**
 * A HorizontalPodAutoscaler's utilization target is a share of the pods' request: without one (user resources replace
 * the defaults, which request both) it reports FailedGetResourceMetric "missing request for cpu" and never scales.
 * Kubernetes takes the request from the limit when only the limit is set, so either will do; it must be above zero.
 */
const autoscalingOn = "(has(self.autoscaling) && has(self.autoscaling.enabled) && self.autoscaling.enabled && has(self.resources))";
const requestsCel = (resource: string) => {
  const given = (list: string) => `has(self.resources.${list}) && '${resource}' in self.resources.${list}`;
  const positive = (list: string) => unlessNotQuantity(`string(self.resources.${list}['${resource}'])`, `quantity(string(self.resources.${list}['${resource}'])).isGreaterThan(quantity('0'))`);
  return `((${given("requests")}) ? ${positive("requests")} : ((${given("limits")}) && ${positive("limits")}))`;
};
const requestsAboveZero = (resources: z.output<typeof resourcesSchema>, resource: string) => {
  const q = resources.requests?.[resource] ?? resources.limits?.[resource];
  return q !== undefined && amount(q) > 0;
};
type Detector = { autoscaling: z.output<typeof autoscalingSchema>; resources?: z.output<typeof resourcesSchema> | undefined };
const cpuTarget = ({ targetCPUUtilizationPercentage: cpu, targetMemoryUtilizationPercentage: memory }: Detector["autoscaling"]) =>
  cpu !== undefined || memory === undefined;

export const detectorSchema = checked(z.strictObject({
  ...componentBase,
  replicas: componentBase.replicas.describe("Replicas when autoscaling is off (more than 1 needs storage.type postgres)."),
  autoscaling: autoscalingSchema.prefault({}),
  config: detectorConfigSchema.prefault({}),
}),
  {
    // The CPU target is the default one: it applies unless only a memory target is set.
    rule: `!${autoscalingOn} || (has(self.autoscaling.targetMemoryUtilizationPercentage) && !has(self.autoscaling.targetCPUUtilizationPercentage)) || ` +
      requestsCel("cpu"),
    message: "autoscaling with a CPU target (targetCPUUtilizationPercentage, 80 when no target is set) needs resources.requests.cpu " +
      "or resources.limits.cpu above zero: the HorizontalPodAutoscaler measures utilization against the CPU request",
    fieldPath: ".resources",
    holds: ({ autoscaling, resources }: Detector) => !autoscaling.enabled || resources === undefined || !cpuTarget(autoscaling) || requestsAboveZero(resources, "cpu"),
  },
  {
    rule: `!${autoscalingOn} || !has(self.autoscaling.targetMemoryUtilizationPercentage) || ${requestsCel("memory")}`,
    message: "autoscaling with targetMemoryUtilizationPercentage needs resources.requests.memory or resources.limits.memory above zero: " +
      "the HorizontalPodAutoscaler measures utilization against the memory request",
    fieldPath: ".resources",
    holds: ({ autoscaling, resources }: Detector) => !autoscaling.enabled || resources === undefined
      || autoscaling.targetMemoryUtilizationPercentage === undefined || requestsAboveZero(resources, "memory"),
  },
).describe("The detector: ingest, detection and the incident API.");

export const consoleSchema = z.strictObject({
  enabled: z.boolean().default(false).describe("Run the analysts' web console."),
  ...componentBase,
  replicas: componentBase.replicas.describe("Replicas of the console (it keeps no state: any number serves)."),
}).describe("The optional web console.");

const secretKeyRef = z.strictObject({
  name: name("Secret name."),
  key: z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/).describe("Key in the Secret."),
});

export const storageSchema = checked(z.strictObject({
  type: z.enum(["sqlite", "postgres"]).default("sqlite").describe("sqlite: embedded, one replica. postgres: shared, several replicas."),
  eventRetentionDays: z.number().int().min(1).max(3650).default(30)
    .describe("Days a stored event is kept after it was received; older ones are deleted hourly once detected. Incidents and their evidence references are kept."),
  sqlite: z.strictObject({
    // A claim of 0 bytes is refused by the API server ("must be greater than zero").
    size: z.string().max(64).regex(quantityPattern).refine((q) => (quantityValue(q) ?? 0) > 0, "must be greater than zero")
      .meta(cel({ rule: unlessNotQuantity("self", "quantity(self).isGreaterThan(quantity('0'))"), message: "size must be greater than zero" }))
      .default("1Gi").describe("Size of the PersistentVolumeClaim that holds the database."),
    storageClassName: z.string().max(253).regex(new RegExp(`^$|${dnsSubdomain.source}`))
      .optional().describe("StorageClass of the claim (a DNS subdomain); the cluster default when unset, no class when \"\"."),
  }).prefault({}).describe("SQLite settings."),
  postgres: z.strictObject({
    urlSecretRef: secretKeyRef.optional().describe("Secret key with the PostgreSQL URL. When unset, the key database-url of the instance's secrets is used."),
  }).optional().describe("PostgreSQL settings."),
}), {
  rule: "!has(self.postgres) || (has(self.type) && self.type == 'postgres')",
  message: "postgres settings require type: postgres",
  fieldPath: ".postgres",
  holds: ({ postgres, type }) => postgres === undefined || type === "postgres",
}).describe("Where incidents and events are stored.");

const peerSchema = checked(z.strictObject({
  namespaces: z.array(z.string().regex(dnsLabel).max(63)).max(64).optional().describe("Namespaces (by kubernetes.io/metadata.name) allowed to connect."),
  podSelector: labelMap("Pod labels allowed to connect (in those namespaces, or in this one when no namespaces are named).").optional(),
  cidrs: z.array(z.string().max(64)).max(64).optional().describe("IP blocks allowed to connect."),
}), {
  rule: "!has(self.cidrs) || self.cidrs.all(c, isCIDR(c))", message: "cidrs must be CIDR blocks such as 10.0.0.0/8", fieldPath: ".cidrs",
  holds: ({ cidrs }) => (cidrs ?? []).every(isCidr),
});

export const networkPolicySchema = z.strictObject({
  enabled: z.boolean().default(true).describe("Default-deny ingress for the instance's pods, with the allows below. On by default."),
  ingress: peerSchema.optional().describe("Who may reach the detector's API: ingest and incidents (the console, when enabled, always may). " +
    "Unset: pods in this namespace; given with nothing in it: nobody else. It does not open the console (networkPolicy.console does)."),
  console: peerSchema.optional().describe("Who may reach the console's web port: the analysts, e.g. through an ingress controller. " +
    "Unset: pods in this namespace; given with nothing in it: nobody. It does not open the detector's API (networkPolicy.ingress does)."),
  metrics: peerSchema.optional().describe("Who may scrape metrics."),
  egress: checked(z.strictObject({
    databaseCidrs: z.array(z.string().max(64)).max(64).optional().describe("Where PostgreSQL runs; egress to port databasePort is allowed there. " +
      "Unset (with storage.type postgres): to any address on that port, in the cluster or outside it; set it to hold the detector to the database's addresses."),
    databasePort: z.number().int().min(1).max(65535).default(5432).describe("The port PostgreSQL (or its pooler: PgBouncer listens on 6432) listens on, as a NetworkPolicy sees it: " +
      "an in-cluster Service's target port, not its own. The operator does not read the URL in the database Secret: keep them in step."),
    dnsNamespace: z.string().regex(dnsLabel).max(63).default("kube-system").describe("Namespace of the cluster DNS."),
    dnsPorts: z.array(z.number().int().min(1).max(65535)).min(1).max(8).optional()
      .describe("Ports the cluster DNS pods listen on (UDP and TCP), as a NetworkPolicy sees them: after the Service's port is " +
        "translated to the pod's. Unset: [53]. OpenShift's DNS pods listen on 5353."),
    dnsCidrs: z.array(z.string().max(64)).max(16).optional()
      .describe("More places DNS may be asked, on dnsPorts, e.g. NodeLocal DNSCache's link-local address 169.254.20.10/32 " +
        "(it runs on the host network, which a namespace selector does not match)."),
  }), {
    rule: "!has(self.databaseCidrs) || self.databaseCidrs.all(c, isCIDR(c))", message: "databaseCidrs must be CIDR blocks", fieldPath: ".databaseCidrs",
    holds: ({ databaseCidrs }) => (databaseCidrs ?? []).every(isCidr),
  }, {
    rule: "!has(self.dnsCidrs) || self.dnsCidrs.all(c, isCIDR(c))", message: "dnsCidrs must be CIDR blocks such as 169.254.20.10/32", fieldPath: ".dnsCidrs",
    holds: ({ dnsCidrs }) => (dnsCidrs ?? []).every(isCidr),
  }).prefault({}).describe("Egress, limited to DNS and the database."),
}).describe("NetworkPolicies for the instance.");

export const externalSecretSchema = z.strictObject({
  secretStoreRef: z.strictObject({
    name: name("SecretStore or ClusterSecretStore name."),
    kind: z.enum(["SecretStore", "ClusterSecretStore"]).default("SecretStore").describe("Kind of the store."),
  }),
  refreshInterval: z.string().regex(durationPattern).default("1h").describe("How often external-secrets refreshes, e.g. 1h."),
  remoteKeys: z.strictObject({
    jwtSigningKey: z.string().min(1).max(512).describe("Remote key of the JWT signing key."),
    adminPasswordHash: z.string().min(1).max(512).describe("Remote key of the first admin's bcrypt hash."),
    ingestToken: z.string().min(1).max(512).describe("Remote key of the ingest token(s)."),
    databaseUrl: z.string().min(1).max(512).optional().describe("Remote key of the PostgreSQL URL."),
  }),
}).describe("Sync the instance's secrets from an external store with external-secrets.io.");

export const secretsSchema = checked(z.strictObject({
  existingSecret: name("A Secret you manage, with keys jwt-signing-key, admin-password-hash, ingest-token (and database-url for postgres).").optional(),
  externalSecret: externalSecretSchema.optional(),
}), {
  rule: "!(has(self.existingSecret) && has(self.externalSecret))",
  message: "set either existingSecret or externalSecret, not both",
  fieldPath: ".existingSecret",
  holds: ({ existingSecret, externalSecret }) => existingSecret === undefined || externalSecret === undefined,
}).describe("Where the detector's secrets come from. Neither set: the operator generates them once.");

const scalesOut = "(has(self.detector) && ((has(self.detector.replicas) && self.detector.replicas > 1) || " +
  "(has(self.detector.autoscaling) && has(self.detector.autoscaling.enabled) && self.detector.autoscaling.enabled)))";
const isPostgres = "(has(self.storage) && has(self.storage.type) && self.storage.type == 'postgres')";

export const specSchema = checked(z.strictObject({
  paused: z.boolean().default(false).describe("Stop changing children (also: annotation xdr.minixdr.io/paused: \"true\")."),
  detector: detectorSchema.prefault({}),
  console: consoleSchema.prefault({}),
  storage: storageSchema.prefault({}),
  networkPolicy: networkPolicySchema.prefault({}),
  secrets: secretsSchema.prefault({}),
}),
  {
    rule: `!${scalesOut} || ${isPostgres}`,
    message: "spec.storage.type must be postgres when spec.detector.replicas > 1 or autoscaling is enabled (SQLite serves one replica)",
    fieldPath: ".storage.type",
    holds: ({ detector, storage }) => !(detector.replicas > 1 || detector.autoscaling.enabled) || storage.type === "postgres",
  },
  {
    rule: `!${isPostgres} || (has(self.storage.postgres) && has(self.storage.postgres.urlSecretRef)) || ` +
      "(has(self.secrets) && (has(self.secrets.existingSecret) || (has(self.secrets.externalSecret) && has(self.secrets.externalSecret.remoteKeys.databaseUrl))))",
    message: "postgres needs a URL: set spec.storage.postgres.urlSecretRef, spec.secrets.existingSecret, or spec.secrets.externalSecret.remoteKeys.databaseUrl",
    fieldPath: ".storage.postgres",
    holds: ({ storage, secrets }) => storage.type !== "postgres" || storage.postgres?.urlSecretRef !== undefined
      || secrets.existingSecret !== undefined || secrets.externalSecret?.remoteKeys.databaseUrl !== undefined,
  },
  {
    rule: "!(has(self.console) && has(self.console.replicas) && self.console.replicas > 1) || (has(self.console.enabled) && self.console.enabled)",
    message: "spec.console.replicas is more than 1 but the console is not enabled (set spec.console.enabled: true)",
    fieldPath: ".console.enabled",
    holds: ({ console }) => console.replicas <= 1 || console.enabled,
  },
).describe("Desired state of a Mini-XDR instance.");

export const conditionSchema = z.strictObject({
  type: z.string().max(316),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().max(1024),
  message: z.string().max(32768),
  observedGeneration: z.number().int().min(0).optional(),
  lastTransitionTime: z.string(),
});

const componentStatus = z.strictObject({
  desiredReplicas: z.number().int(),
  readyReplicas: z.number().int(),
  image: z.string(),
});

export const statusSchema = z.strictObject({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional().meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }),
  detector: componentStatus.optional(),
  console: componentStatus.optional(),
  replicas: z.string().optional().describe("Ready/desired detector replicas, for kubectl get."),
  endpoint: z.string().optional().describe("The detector's in-cluster URL."),
}).describe("Observed state, written by the operator.");

export type MiniXdrSpecInput = z.input<typeof specSchema>;
export type MiniXdrSpec = z.output<typeof specSchema>;
export type MiniXdrStatus = z.output<typeof statusSchema>;
export type Condition = z.output<typeof conditionSchema>;
export type DetectorSpec = MiniXdrSpec["detector"];
export type ConsoleSpec = MiniXdrSpec["console"];

export interface MiniXdr {
  apiVersion: typeof apiVersion;
  kind: typeof kind;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: MiniXdrSpecInput | null;
  status?: MiniXdrStatus;
}

/** The spec with every default filled in, in memory only. Throws a zod error naming the field when invalid. */
export function withDefaults(spec: MiniXdrSpecInput | null | undefined): MiniXdrSpec {
  const parsed = specSchema.safeParse(spec ?? {});
  if (parsed.success) return parsed.data;
  throw new Error(parsed.error.issues.flatMap((i) => {
    const path = ["spec", ...i.path.map(String)];
    // An unknown field is named in the path, as the API server names it.
    if (i.code === "unrecognized_keys") return i.keys.map((k) => `${[...path, k].join(".")}: field not declared in schema`);
    return [`${path.join(".")}: ${i.message}`];
  }).join("; "));
}

/** Longest instance name whose children's names (e.g. `<name>-detector-metrics`) stay valid DNS labels. */
export const maxNameLength = 40;
