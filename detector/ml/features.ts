/**
 * Behaviour of one source IP of one tenant over a window of events, aggregated from every source the
 * detector ingests (Cowrie, Suricata EVE alert/flow/ssh/http, Kubernetes audit, the generic schema).
 * All counts are totals over the window; rates are derived in `featureVector`.
 */
export interface SourceBehaviour {
  windowSeconds: number;
  /** every event attributed to the source, whatever its kind */
  events: number;
  /** Cowrie login.failed, Suricata ssh failures, generic auth failures */
  failedLogins: number;
  successfulLogins: number;
  distinctUsernames: number;
  distinctPasswords: number;
  /** Cowrie command.input and generic shell commands */
  commands: number;
  /** Cowrie session.file_download, generic file downloads */
  downloads: number;
  /** Suricata flow destinations */
  distinctDestPorts: number;
  distinctDestIps: number;
  flows: number;
  bytesOut: number;
  bytesIn: number;
  /** Suricata alerts */
  alerts: number;
  /** 0 when no alert; else 1 (low) to 3 (high), i.e. 4 minus Suricata's severity 3..1 */
  maxAlertSeverity: number;
  httpRequests: number;
  http4xx: number;
  /** Kubernetes audit events whose sourceIPs include the source */
  auditRequests: number;
  auditForbidden: number;
  /** get/list/watch on secrets */
  secretReads: number;
  /** pods/exec, pods/attach, pods/portforward */
  execs: number;
}

type Transform =
  | { readonly kind: "logRate"; readonly field: keyof SourceBehaviour }
  | { readonly kind: "logCount"; readonly field: keyof SourceBehaviour }
  | { readonly kind: "raw"; readonly field: keyof SourceBehaviour }
  | { readonly kind: "ratio"; readonly part: keyof SourceBehaviour; readonly rest: keyof SourceBehaviour }
  | { readonly kind: "share"; readonly part: keyof SourceBehaviour; readonly whole: keyof SourceBehaviour }
  | { readonly kind: "logDiff"; readonly field: keyof SourceBehaviour; readonly minus: keyof SourceBehaviour };

/**
 * The one definition of the model's input. `train.py` mirrors it line by line (FEATURES there) and
 * features.test.ts proves both give the same vectors on the held-out sample, so change both together
 * and retrain. The detector serves it through `featureVector`, with `SERVING_GATES` below.
 *
 * - logRate:  ln(1 + count per minute), minutes = max(windowSeconds, 1) / 60
 * - logCount: ln(1 + count), for distinct counts, which do not grow linearly with the window
 * - raw:      the value as is
 * - ratio:    part / (part + rest), 0 when both are 0
 * - share:    part / whole clamped to 0..1, 0 when whole is 0
 * - logDiff:  ln(1 + field) - ln(1 + minus)
 */
const FEATURES: readonly (readonly [string, Transform])[] = [
  ["eventsPerMin", { kind: "logRate", field: "events" }],
  ["failedLoginsPerMin", { kind: "logRate", field: "failedLogins" }],
  ["successfulLoginsPerMin", { kind: "logRate", field: "successfulLogins" }],
  ["loginFailureRatio", { kind: "ratio", part: "failedLogins", rest: "successfulLogins" }],
  ["distinctUsernames", { kind: "logCount", field: "distinctUsernames" }],
  ["distinctPasswords", { kind: "logCount", field: "distinctPasswords" }],
  ["commandsPerMin", { kind: "logRate", field: "commands" }],
  ["downloads", { kind: "logCount", field: "downloads" }],
  ["distinctDestPorts", { kind: "logCount", field: "distinctDestPorts" }],
  ["distinctDestIps", { kind: "logCount", field: "distinctDestIps" }],
  ["flowsPerMin", { kind: "logRate", field: "flows" }],
  ["bytesOutPerMin", { kind: "logRate", field: "bytesOut" }],
  ["bytesInPerMin", { kind: "logRate", field: "bytesIn" }],
  ["bytesOutInLogRatio", { kind: "logDiff", field: "bytesOut", minus: "bytesIn" }],
  ["alertsPerMin", { kind: "logRate", field: "alerts" }],
  ["maxAlertSeverity", { kind: "raw", field: "maxAlertSeverity" }],
  ["httpRequestsPerMin", { kind: "logRate", field: "httpRequests" }],
  ["http4xxShare", { kind: "share", part: "http4xx", whole: "httpRequests" }],
  ["auditRequestsPerMin", { kind: "logRate", field: "auditRequests" }],
  ["auditForbiddenShare", { kind: "share", part: "auditForbidden", whole: "auditRequests" }],
  ["secretReadsPerMin", { kind: "logRate", field: "secretReads" }],
  ["execsPerMin", { kind: "logRate", field: "execs" }],
];

export const FEATURE_NAMES: readonly string[] = Object.freeze(FEATURES.map(([name]) => name));

function apply(t: Transform, b: SourceBehaviour, minutes: number): number {
  switch (t.kind) {
    case "logRate":
      return Math.log1p(b[t.field] / minutes);
    case "logCount":
      return Math.log1p(b[t.field]);
    case "raw":
      return b[t.field];
    case "ratio": {
      const total = b[t.part] + b[t.rest];
      return total > 0 ? b[t.part] / total : 0;
    }
    case "share":
      return b[t.whole] > 0 ? Math.min(1, Math.max(0, b[t.part] / b[t.whole])) : 0;
    case "logDiff":
      return Math.log1p(b[t.field]) - Math.log1p(b[t.minus]);
  }
}

function inputsOf(t: Transform): (keyof SourceBehaviour)[] {
  switch (t.kind) {
    case "ratio":
      return [t.part, t.rest];
    case "share":
      return [t.part, t.whole];
    case "logDiff":
      return [t.field, t.minus];
    default:
      return [t.field];
  }
}

/**
 * Where the detector's input differs from what the committed model was trained on (MODEL_CARD.md, "Serving"): a
 * share computed from too few requests is no evidence, and is given as 0, which the model reads as none. One 404 (a
 * browser's /favicon.ico) as a window's only HTTP request is no 100% error rate: read as one, the model scored an
 * office workstation's ordinary window as a web attack (p 0.75 alone, 0.94 beside seven normal flows; half of two
 * requests, 0.5). Trained data held such shares almost only for web attacks, which send far more requests. Applied
 * at serving only, so `trainedFeatureVector` still mirrors train.py; a retrain should apply them in both.
 */
const SERVING_GATES: readonly { readonly feature: string; readonly whole: keyof SourceBehaviour; readonly atLeast: number }[] = [
  { feature: "http4xxShare", whole: "httpRequests", atLeast: 5 },
  // The same for Kubernetes: one forbidden request alone scored 1.0, one of five 0.72, two of ten 0.61, so a developer
  // whose `kubectl get nodes` was refused raised a high anomaly incident. Trained, only secret harvesting had a share.
  { feature: "auditForbiddenShare", whole: "auditRequests", atLeast: 10 },
];

/** The fewest HTTP requests of a window whose 4xx share the model is given. */
export const MIN_HTTP_REQUESTS_FOR_SHARE = SERVING_GATES.find((g) => g.feature === "http4xxShare")!.atLeast;

/** The fewest Kubernetes audit requests of a window whose forbidden share the model is given. */
export const MIN_AUDIT_REQUESTS_FOR_SHARE = SERVING_GATES.find((g) => g.feature === "auditForbiddenShare")!.atLeast;

/** The detector's model input: the trained features with the serving gates (see `SERVING_GATES`). */
export function featureVector(b: SourceBehaviour): Float32Array {
  const out = trainedFeatureVector(b);
  for (const { feature, whole, atLeast } of SERVING_GATES) {
    if (b[whole] < atLeast) out[FEATURE_NAMES.indexOf(feature)] = 0;
  }
  return out;
}

/**
 * The features as train.py computed them for the committed model (features.test.ts checks both agree).
 * Refuses what would silently poison the model: negative or non-finite counts.
 */
export function trainedFeatureVector(b: SourceBehaviour): Float32Array {
  for (const field of ["windowSeconds" as const, ...FEATURES.flatMap(([, t]) => inputsOf(t))]) {
    const v: unknown = b[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`SourceBehaviour.${field} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  const minutes = Math.max(b.windowSeconds, 1) / 60;
  const out = new Float32Array(FEATURES.length);
  FEATURES.forEach(([, t], i) => {
    out[i] = apply(t, b, minutes);
  });
  return out;
}
