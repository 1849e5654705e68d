// The embedded control plane for the operator benchmarks: admin and operator credentials, kubectl, the audit
// log (counting requests by user and verb), and a watch that timestamps when each MiniXdr's status is current.
// The operator's identity comes from test/support/operator-identity.ts, shared with the tests.
import { execFile } from "node:child_process";
import { closeSync, openSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { controlPlaneBinaries } from "../../test/controlplane/binaries.ts";
import { ControlPlane } from "../../test/controlplane/controlplane.ts";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { KubeClient, type ResourceRef } from "../../operator/kube/client.ts";
import { loadKubeconfigFiles } from "../../operator/kube/config.ts";
import { applyAs, operatorServiceAccountKubeconfig } from "../../test/support/operator-identity.ts";

export const root = join(import.meta.dirname, "../..");
export const crdFile = join(root, "crds/xdr.minixdr.io_minixdrs.yaml");
export const miniXdrRef: ResourceRef = { group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs" };
export const operatorNamespace = "minixdr-system";
export const operatorUser = `system:serviceaccount:${operatorNamespace}:minixdr-operator`;
/** kubectl runs as its own user, so the audit log tells its requests from the harness's. */
export const kubectlUser = "bench-kubectl";
export const writeVerbs = new Set(["create", "update", "patch", "delete", "deletecollection"]);

export async function startControlPlane(log: (line: string) => void): Promise<ControlPlane> {
  const binaries = await controlPlaneBinaries({ build: true, onProgress: log });
  // The harness's /24 service range holds 254 Services; the scale benchmark needs one per instance, twice over.
  // kube-apiserver takes the last value of a repeated flag.
  return ControlPlane.start({ binaries, crdFiles: [crdFile], log, extraApiServerArgs: ["--service-cluster-ip-range=10.0.0.0/16"] });
}

/** The admin's client through the operator's own kubeconfig loader. */
export function adminClient(cp: ControlPlane): KubeClient {
  return new KubeClient(loadKubeconfigFiles([cp.kubeconfigPath]));
}

/** client-node's view of a kubeconfig, for its Watch (the harness's own watches, not the operator's). */
export function kubeConfigFrom(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  await applyAs(client, "bench-admin", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

/**
 * A kubeconfig file for ServiceAccount minixdr-operator in `operatorNamespace`, bound to the generated ClusterRole
 * (config/rbac/role.yaml) and the leader-election Role: the operator runs with exactly the rights it ships with.
 */
export async function writeOperatorKubeconfig(cp: ControlPlane, dir: string): Promise<string> {
  const admin = adminClient(cp);
  await ensureNamespace(admin, operatorNamespace);
  const kubeconfig = await operatorServiceAccountKubeconfig(admin, cp.kubeconfigPath, operatorNamespace, "minixdr-operator-bench");
  const path = join(dir, "operator.kubeconfig");
  writeFileSync(path, JSON.stringify(kubeconfig), { mode: 0o600 });
  return path;
}

export interface Kubectl {
  /** Runs kubectl; resolves with its wall time in ms, rejects with its stderr. */
  run(args: string[]): Promise<number>;
}

export async function kubectlFor(cp: ControlPlane, cacheDir: string): Promise<Kubectl> {
  const kubeconfig = await cp.kubeconfigForUser(kubectlUser, ["system:masters"]);
  const env = { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir };
  return {
    run: (args) => new Promise((resolve, reject) => {
      const t0 = performance.now();
      execFile(cp.binaries.kubectl, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`));
        else resolve(performance.now() - t0);
      });
    }),
  };
}

export interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
}

/** Reads the audit log from a byte offset: count requests made in a window by remembering the offset at its start. */
export class AuditLog {
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  get offset(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  /** Completed requests (one per audit ID) logged since `from`, optionally only by `user`. */
  since(from: number, user?: string): AuditEvent[] {
    const size = this.offset;
    if (size <= from) return [];
    const fd = openSync(this.path, "r");
    const buf = Buffer.alloc(size - from);
    try {
      readSync(fd, buf, 0, buf.length, from);
    } finally {
      closeSync(fd);
    }
    const seen = new Set<string>();
    const out: AuditEvent[] = [];
    for (const line of buf.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      let e: AuditEvent;
      try {
        e = JSON.parse(line) as AuditEvent;
      } catch {
        continue; // a line cut at the window's end
      }
      if (user && e.user.username !== user) continue;
      if (seen.has(e.auditID)) continue;
      seen.add(e.auditID);
      out.push(e);
    }
    return out;
  }
}

export function countByVerb(events: AuditEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) out[e.verb] = (out[e.verb] ?? 0) + 1;
  return out;
}

/**
 * Watches MiniXdr objects (all namespaces) and records, per namespace/name, when a status whose
 * observedGeneration equals metadata.generation is first seen.
 */
export class StatusWatch {
  private readonly current = new Map<string, { generation: number; at: number }>();
  private readonly waiters = new Map<string, { generation: number; resolve: (at: number) => void }[]>();
  private request: AbortController | undefined;

  static async start(kc: k8s.KubeConfig): Promise<StatusWatch> {
    const w = new StatusWatch();
    await w.open(kc);
    return w;
  }

  private stopped = false;

  private async open(kc: k8s.KubeConfig): Promise<void> {
    const watch = new k8s.Watch(kc);
    // client-node ends a watch after 30 s without data; a quiet period is longer than that.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 15 * 60_000; // private in the typings
    this.request = await watch.watch(`/apis/${miniXdrRef.group}/${miniXdrRef.version}/${miniXdrRef.plural}`, {},
      (_type: string, obj: MiniXdr) => this.seen(obj),
      (err: unknown) => {
        if (this.stopped) return;
        // Re-watch from the current state: objects come again as ADDED, and first-seen times are kept.
        if (err) process.stderr.write(`[bench] MiniXdr watch ended (${err instanceof Error ? err.message : JSON.stringify(err)}); watching again\n`);
        setTimeout(() => void this.open(kc).catch((e: unknown) => process.stderr.write(`[bench] MiniXdr re-watch failed: ${String(e)}\n`)), 100);
      });
  }

  private seen(obj: MiniXdr): void {
    const at = performance.now();
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const generation = obj.metadata.generation ?? 0;
    if (obj.status?.observedGeneration === undefined || obj.status.observedGeneration < generation) return;
    const prev = this.current.get(key);
    if (!prev || prev.generation < generation) this.current.set(key, { generation, at });
    const list = this.waiters.get(key) ?? [];
    const still = list.filter((w) => {
      if (w.generation > generation) return true;
      w.resolve(at);
      return false;
    });
    this.waiters.set(key, still);
  }

  /** Resolves with the performance.now() time the status was first seen current for `generation` (or later). */
  whenCurrent(namespace: string, name: string, generation = 1): Promise<number> {
    const key = `${namespace}/${name}`;
    const known = this.current.get(key);
    if (known && known.generation >= generation) return Promise.resolve(known.at);
    return new Promise((resolve) => this.waiters.set(key, [...(this.waiters.get(key) ?? []), { generation, resolve }]));
  }

  currentCount(prefix: string): number {
    let n = 0;
    for (const key of this.current.keys()) if (key.startsWith(prefix)) n++;
    return n;
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }
}
