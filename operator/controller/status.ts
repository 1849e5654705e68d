// Status from what the children report. Pure: the same inputs give the same status, so a pass that changes
// nothing writes nothing.
import type { Condition, MiniXdr, MiniXdrStatus } from "../api/minixdr.ts";
import type { KubeObject } from "../kube/client.ts";
import { childKindOf } from "../render/child-kinds.ts";
import type { Component } from "../render/meta.ts";
import { setCondition, type ConditionInput } from "./conditions.ts";

export interface ComponentObservation {
  component: Component;
  deploymentName: string;
  deployment: KubeObject | undefined;
  image: string;
  /** The replicas the spec asks for (the autoscaler's minimum when it is on): what a missing Deployment would run. */
  desiredReplicas: number;
}

export interface Observation {
  paused: false | "spec" | "annotation";
  components: ComponentObservation[];
  applyErrors: string[];
  /** The stored spec does not validate (stored before a stricter schema): nothing was applied; applyErrors says why. */
  invalidSpec?: boolean;
  missingApis: string[];
  /** Optional kinds whose API the operator may not list (403): RBAC, not a missing install. */
  forbiddenApis?: string[];
  /** Missing kinds whose group the API server serves at other versions only (an older external-secrets), by kind. */
  otherServedVersions?: Record<string, string[]>;
  /** Children not applied yet because an old object of the same name is still being deleted. */
  waitingForDeletion?: string[];
  /** Changes of the spec the existing data claim cannot take (immutable fields): it keeps what it has. */
  storageNotes?: string[];
  /** The detector's HorizontalPodAutoscaler, when autoscaling is on (its conditions say whether it can scale). */
  autoscaler?: KubeObject;
  endpoint: string;
}

/**
 * Not installed, or installed at a version the operator does not write: external-secrets before 0.16.2 serves
 * external-secrets.io/v1beta1 only, and "install external-secrets.io" would be no help to whoever reads it.
 */
function missingApiProblems(obs: Observation): string[] {
  const older = obs.missingApis.filter((k) => (obs.otherServedVersions?.[k] ?? []).length > 0);
  const absent = obs.missingApis.filter((k) => !older.includes(k));
  return [
    ...older.map((k) => {
      const { group, version } = childKindOf(k);
      return `the ${k} API ${group}/${version} is not served: the API server serves ${group} ${obs.otherServedVersions![k]!.join(", ")} only `
        + `(external-secrets older than 0.16.2; upgrade it): its child is not applied`;
    }),
    ...(absent.length > 0 ? [`the ${absent.join(", ")} API is not installed (install external-secrets.io): its child is not applied`] : []),
  ];
}

interface DeploymentState {
  desired: number;
  ready: number;
  available: number;
  /** The image its pod template runs (the spec's may differ while paused). */
  image: string | undefined;
  current: boolean;
  failed?: string;
}

function deploymentState(d: KubeObject): DeploymentState {
  const spec = d.spec as { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  const st = (d.status ?? {}) as { observedGeneration?: number; readyReplicas?: number; availableReplicas?: number; updatedReplicas?: number;
    replicas?: number; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  const desired = spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const progressing = st.conditions?.find((c) => c.type === "Progressing");
  return {
    desired,
    ready: st.readyReplicas ?? 0,
    available: st.availableReplicas ?? 0,
    image: spec?.template?.spec?.containers?.[0]?.image,
    // Current: the controller has seen the latest template and every replica runs it, with no old ones left.
    current: (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && updated >= desired && (st.replicas ?? 0) <= desired,
    ...(progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded" ? { failed: progressing.message ?? "progress deadline exceeded" } : {}),
  };
}

/**
 * Why the autoscaler cannot scale, from its own conditions (the HPA controller's): no metrics (no metrics-server, no
 * request for the targeted resource), no access to the scale subresource. Scaling disabled on purpose (the target
 * scaled to 0) and ScalingLimited (at its minimum or maximum) are no problem.
 */
function autoscalerProblem(hpa: KubeObject | undefined): string | undefined {
  const conditions = (hpa?.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? [];
  const stuck = conditions.find((c) => (c.type === "ScalingActive" || c.type === "AbleToScale") && c.status === "False" && c.reason !== "ScalingDisabled");
  return stuck ? `HorizontalPodAutoscaler ${hpa!.metadata?.name ?? ""} cannot scale (${stuck.type}=False ${stuck.reason ?? ""}): ${stuck.message ?? ""}` : undefined;
}

export function computeStatus(cr: MiniXdr, obs: Observation, now: () => string): MiniXdrStatus {
  const generation = cr.metadata.generation ?? 0;
  let conditions: Condition[] = [...(cr.status?.conditions ?? [])];
  const failedReason = obs.invalidSpec ? "InvalidSpec" : "ApplyFailed";
  const set = (c: ConditionInput) => (conditions = setCondition(conditions, c, generation, now));

  const waiting: string[] = [];
  const failed: string[] = [];
  // An invalid spec observes no components: what was last reported of them stays.
  const status: MiniXdrStatus = { observedGeneration: generation, endpoint: obs.endpoint };
  if (obs.invalidSpec) {
    for (const key of ["detector", "console", "replicas"] as const) if (cr.status?.[key] !== undefined) Object.assign(status, { [key]: cr.status[key] });
  }
  for (const c of obs.components) {
    if (!c.deployment) {
      waiting.push(`Deployment ${c.deploymentName} does not exist yet`);
      status[c.component] = { desiredReplicas: c.desiredReplicas, readyReplicas: 0, image: c.image };
      continue;
    }
    const s = deploymentState(c.deployment);
    status[c.component] = { desiredReplicas: s.desired, readyReplicas: s.ready, image: s.image ?? c.image };
    if (s.failed) failed.push(`Deployment ${c.deploymentName}: ${s.failed}`);
    // Scaled to zero by hand while an autoscaler owns replicas (which then stops scaling it): nothing runs.
    if (s.desired === 0) waiting.push(`Deployment ${c.deploymentName} is scaled to 0 replicas`);
    if (!s.current) waiting.push(`Deployment ${c.deploymentName} is rolling out (${s.available}/${s.desired} available)`);
    else if (s.available < s.desired) waiting.push(`Deployment ${c.deploymentName} has ${s.available}/${s.desired} replicas available`);
  }
  waiting.push(...(obs.waitingForDeletion ?? []));
  const detector = status.detector;
  if (detector) status.replicas = `${detector.readyReplicas}/${detector.desiredReplicas}`;

  // Every problem is named wherever it matters, so the conditions never contradict each other: a missing
  // ExternalSecret API must not hide a failed apply (which then gives the reason), nor a failed rollout.
  const applyErrors = obs.applyErrors.map(stableErrorMessage);
  const forbidden = obs.forbiddenApis ?? [];
  // A 403 is the operator's RBAC (a ClusterRole edited by hand): "install external-secrets.io" would send the reader
  // the wrong way.
  const apiProblems = [
    ...(forbidden.length > 0 ? [`the operator may not list ${forbidden.join(", ")} objects (403): its ClusterRole (config/rbac) must allow it; their child is not applied`] : []),
    ...missingApiProblems(obs),
  ];
  const missingApis = apiProblems.length > 0 ? apiProblems.join("; ") : undefined;
  // Applied (the claim keeps what it cannot change), so not a failure; but not what the spec says, which must show.
  const storageNotes = obs.storageNotes ?? [];
  const apiReason = forbidden.length > 0 ? "ExternalSecretsForbidden" : "ExternalSecretsNotInstalled";
  const autoscaling = autoscalerProblem(obs.autoscaler);
  if (applyErrors.length > 0) {
    set({ type: "Degraded", status: "True", reason: failedReason, message: [...applyErrors, ...(missingApis ? [missingApis] : []), ...storageNotes].join("; ") });
  } else if (missingApis) {
    set({ type: "Degraded", status: "True", reason: apiReason, message: [`${missingApis}; everything else is reconciled`, ...failed, ...storageNotes].join("; ") });
  } else if (failed.length > 0) {
    set({ type: "Degraded", status: "True", reason: "DeploymentFailed", message: [...failed, ...storageNotes].join("; ") });
  } else if (autoscaling) {
    // Applied and running, but it will not scale with the load: the replicas stay where they are.
    set({ type: "Degraded", status: "True", reason: "AutoscalingInactive", message: [autoscaling, ...storageNotes].join("; ") });
  } else if (storageNotes.length > 0) {
    set({ type: "Degraded", status: "True", reason: "StorageChangeNotApplied", message: storageNotes.join("; ") });
  } else {
    set({ type: "Degraded", status: "False", reason: "AsExpected", message: "no problems found" });
  }

  // Whether the operator has made the children match this generation, apart from whether they are up yet.
  if (obs.paused) {
    set({ type: "Reconciled", status: "False", reason: "Paused", message: "paused: children are not changed" });
  } else if (applyErrors.length > 0) {
    set({ type: "Reconciled", status: "False", reason: failedReason, message: [...applyErrors, ...(missingApis ? [missingApis] : [])].join("; ") });
  } else if (missingApis) {
    set({ type: "Reconciled", status: "False", reason: apiReason, message: missingApis });
  } else if (obs.waitingForDeletion?.length) {
    set({ type: "Reconciled", status: "False", reason: "WaitingForDeletion", message: obs.waitingForDeletion.join("; ") });
  } else {
    set({ type: "Reconciled", status: "True", reason: "ReconcileSucceeded", message: storageNotes.length > 0
      ? `every child matches generation ${generation}, except what the data claim cannot change (see Degraded)` : `every child matches generation ${generation}` });
  }

  if (obs.invalidSpec) set({ type: "Progressing", status: "False", reason: "InvalidSpec", message: "nothing is applied until the spec is fixed" });
  else if (waiting.length > 0) set({ type: "Progressing", status: "True", reason: "WaitingForDeployments", message: waiting.join("; ") });
  // Paused, the spec's version may not be the one running: "every component runs the desired version" would be a claim.
  else if (obs.paused) set({ type: "Progressing", status: "False", reason: "Paused", message: "paused: the components keep what was last applied; changes to the spec wait for the resume" });
  else set({ type: "Progressing", status: "False", reason: "RolloutComplete", message: "every component runs the desired version" });

  if (applyErrors.length > 0) {
    set({ type: "Ready", status: "False", reason: failedReason, message: applyErrors.join("; ") });
  } else if (waiting.length > 0) {
    set({ type: "Ready", status: "False", reason: "ComponentsNotReady", message: waiting.join("; ") });
  } else {
    set({ type: "Ready", status: "True", reason: "AllComponentsReady", message: `${obs.components.map((c) => c.component).join(" and ")} available` });
  }

  if (obs.paused) {
    set({ type: "Paused", status: "True", reason: "Paused",
      message: obs.paused === "spec" ? "spec.paused is true: children are not changed" : 'annotation xdr.minixdr.io/paused is "true": children are not changed' });
  } else {
    conditions = conditions.filter((c) => c.type !== "Paused");
  }
  status.conditions = conditions;
  return status;
}

/** The error types of Kubernetes field errors (apimachinery's field.ErrorType), as their text begins. */
const fieldErrorTypes = ["Not found", "Required value", "Duplicate value", "Invalid value", "Unsupported value", "Forbidden", "Too long", "Too many", "Internal error"];
/** A field path such as spec.template.spec.nodeSelector[node-role.kubernetes.io/infra] or containers[0].resources. */
const fieldPath = String.raw`[A-Za-z_$][\w$-]*(?:\[[^\]]*\]|\.[\w$-]+)*`;
/** ", " where the next field error of an aggregate begins (a field error's own text may hold ", " too). */
const fieldErrorBoundary = new RegExp(String.raw`, (?=${fieldPath}: (?:${fieldErrorTypes.join("|")}))`);

/**
 * An API server error as a message that is the same every time for the same problem. The API server lists the
 * field errors of an invalid object in map order, which Go randomises ("Deployment.apps "x" is invalid: [a, b]" one
 * time, "[b, a]" the next): taken as it is, every retry would change the condition message, write status, and the
 * watch event of that write would start the next retry at once. The list is sorted (and deduplicated) instead.
 */
export function stableErrorMessage(message: string): string {
  const m = /^([\s\S]*? is invalid: )\[([\s\S]*)\]$/.exec(message);
  if (!m) return message;
  const items = m[2]!.split(fieldErrorBoundary);
  if (items.length < 2) return message;
  return `${m[1]}[${[...new Set(items)].sort().join(", ")}]`;
}

/** Key order does not matter to the API server, so it must not matter here either. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
