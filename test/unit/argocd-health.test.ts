// config/argocd/health.lua, run by a real Lua 5.4 (Debian's lua5.4, installed by the test when missing) the way Argo CD
// runs it: `obj` is a global Lua table built from the object, the script returns hs with status and message.
// The statuses come from the operator's own computeStatus, so the script reads what the operator really writes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { computeStatus, type Observation } from "../../operator/controller/status.ts";
import type { KubeObject } from "../../operator/kube/client.ts";
import { ensureDebianCommand, runTool } from "../support/debian.ts";

const root = join(import.meta.dirname, "../..");
const script = readFileSync(join(root, "config/argocd/health.lua"), "utf8");

/** A JSON value as a Lua table constructor (null becomes an absent key, as when Argo CD converts the object). */
function toLua(v: unknown): string {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  if (typeof v === "string") return `"${[...v].map((ch) => (/[\w .,:;/()+-]/.test(ch) ? ch : [...Buffer.from(ch)].map((b) => `\\${b}`).join(""))).join("")}"`;
  if (Array.isArray(v)) return `{${v.map(toLua).join(", ")}}`;
  return `{${Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== null && x !== undefined).map(([k, x]) => `[${toLua(k)}] = ${toLua(x)}`).join(", ")}}`;
}

let lua: string;
function health(obj: unknown): { status: string; message: string } {
  // Argo CD runs the script as a chunk; wrapping it in a function lets its top-level `return hs` hand back the table.
  // It opens only the package, base and table libraries and a reduced os (argo-cd util/lua/lua.go, unless
  // resource.customizations.useOpenLibs is set for the kind): math, string, io and the rest are nil there, so here too.
  const sandbox = "local write = io.write\nmath, string, io, coroutine, debug, utf8 = nil, nil, nil, nil, nil, nil\n";
  const program = `obj = ${toLua(obj)}\n${sandbox}local function check()\n${script}\nend\nlocal hs = check()\nwrite(hs.status, "\\n", hs.message or "")\n`;
  const out = runTool(lua, ["-"], program);
  const [status = "", ...message] = out.split("\n");
  return { status, message: message.join("\n") };
}

const now = () => "2025-01-01T00:00:00Z";
const base = (generation: number): MiniXdr => ({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "basic", namespace: "team-a", generation, uid: "u1" }, spec: {} });
const deployment = (opts: { available: number; deadlineExceeded?: boolean }): KubeObject => ({
  apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "basic-detector", generation: 1 }, spec: { replicas: 1 },
  status: {
    observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: opts.available, availableReplicas: opts.available,
    conditions: opts.deadlineExceeded ? [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "basic-detector-5f" has timed out progressing.' }] : [],
  },
});
const observe = (d: KubeObject | undefined, extra: Partial<Observation> = {}): Observation => ({
  paused: false, applyErrors: [], missingApis: [], endpoint: "http://basic-detector.team-a.svc:8080",
  components: [{ component: "detector", deploymentName: "basic-detector", deployment: d, image: "ghcr.io/minixdr/minixdr:0.1.0", desiredReplicas: 1 }], ...extra,
});
/** The MiniXdr as the API server would hand it to Argo CD after the operator wrote status for `observed`. */
const withStatus = (generation: number, observed: number, obs: Observation): MiniXdr => {
  const cr = base(generation);
  return { ...cr, status: computeStatus(base(observed), obs, now) };
};

const cases: { name: string; obj: unknown; status: string; message: RegExp }[] = [
  { name: "no status at all (the operator has not seen it yet)", obj: base(1), status: "Progressing", message: /operator to report status/ },
  { name: "spec changed, operator still on the previous generation", obj: withStatus(3, 2, observe(deployment({ available: 1 }))), status: "Progressing",
    message: /observe generation 3 \(observed: 2\)/ },
  { name: "status without observedGeneration", obj: { ...base(1), status: { conditions: [{ type: "Ready", status: "True" }] } }, status: "Progressing", message: /observed: none/ },
  { name: "detector Deployment not created yet", obj: withStatus(1, 1, observe(undefined)), status: "Progressing", message: /basic-detector does not exist yet/ },
  { name: "detector rolling out", obj: withStatus(1, 1, observe(deployment({ available: 0 }))), status: "Progressing", message: /0\/1 replicas available/ },
  { name: "observed, no conditions yet", obj: { ...base(1), status: { observedGeneration: 1 } }, status: "Progressing", message: /Waiting for the Ready condition/ },
  { name: "every component available", obj: withStatus(1, 1, observe(deployment({ available: 1 }))), status: "Healthy", message: /detector available/ },
  { name: "apply failed", obj: withStatus(1, 1, observe(deployment({ available: 1 }), { applyErrors: ['Service basic-detector: field is immutable "spec.clusterIP"'] })),
    status: "Degraded", message: /field is immutable "spec.clusterIP"/ },
  { name: "rollout exceeded its progress deadline", obj: withStatus(1, 1, observe(deployment({ available: 0, deadlineExceeded: true }))), status: "Degraded", message: /timed out progressing/ },
  { name: "ExternalSecrets API missing", obj: withStatus(1, 1, observe(deployment({ available: 1 }), { missingApis: ["external-secrets.io/v1"] })), status: "Degraded", message: /install external-secrets.io/ },
  { name: "paused by spec", obj: withStatus(1, 1, observe(deployment({ available: 1 }), { paused: "spec" })), status: "Suspended", message: /spec.paused is true/ },
  { name: "paused by annotation while rolling out", obj: withStatus(1, 1, observe(deployment({ available: 0 }), { paused: "annotation" })), status: "Suspended", message: /annotation xdr.minixdr.io\/paused/ },
];

beforeAll(() => {
  lua = ensureDebianCommand("lua5.4", "lua5.4");
}, 600_000);

describe("config/argocd/health.lua", () => {
  it.each(cases)("$name: $status", ({ obj, status, message }) => {
    const hs = health(obj);
    expect(hs.status).toBe(status);
    expect(hs.message).toMatch(message);
  });

  it("sees conditions the operator wrote in the order it wrote them, and quotes messages with any characters intact", () => {
    const cr = withStatus(1, 1, observe(deployment({ available: 1 }), { applyErrors: ['NetworkPolicy "a\\b": ünïcode\nline two'] }));
    expect(health(cr)).toEqual({ status: "Degraded", message: 'NetworkPolicy "a\\b": ünïcode\nline two' });
  });

  it("is what config/argocd registers in argocd-cm under the key Argo CD looks up for xdr.minixdr.io/MiniXdr", () => {
    const k = parse(readFileSync(join(root, "config/argocd/kustomization.yaml"), "utf8")) as { namespace: string; configMapGenerator: { name: string; files: string[]; options: { disableNameSuffixHash: boolean } }[] };
    expect(k.configMapGenerator).toEqual([expect.objectContaining({ name: "argocd-cm", files: ["resource.customizations.health.xdr.minixdr.io_MiniXdr=health.lua"] })]);
    expect(k.configMapGenerator[0]!.options.disableNameSuffixHash).toBe(true);
  });

  it("comes with an example Application that syncs config/default server-side", () => {
    const apps = readFileSync(join(root, "config/argocd/application.yaml"), "utf8").split(/^---$/m).map((d) => parse(d) as { kind: string; spec: { source: { path: string }; syncPolicy: { syncOptions: string[] } }; metadata: { name: string } });
    const operatorApp = apps.find((a) => a.metadata.name === "minixdr-operator")!;
    expect(operatorApp.kind).toBe("Application");
    expect(operatorApp.spec.source.path).toBe("config/default");
    expect(readFileSync(join(root, operatorApp.spec.source.path, "kustomization.yaml"), "utf8")).toContain("../crd");
    expect(operatorApp.spec.syncPolicy.syncOptions).toContain("ServerSideApply=true");
    expect(apps.find((a) => a.metadata.name === "minixdr-instances")!.spec.syncPolicy.syncOptions).toContain("SkipDryRunOnMissingResource=true");
  });
});
