// Helpers for tests that run against the real control plane started by test/setup/control-plane.ts.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { loadKubeconfigFiles, type KubeConnection } from "../../operator/kube/config.ts";
import { writeUserKubeconfig } from "../controlplane/controlplane.ts";

const run = promisify(execFile);

export const clusterUnavailable = inject("clusterUnavailable");
if (clusterUnavailable) console.warn(clusterUnavailable);

/** A describe block that needs the cluster; it skips (with the reason printed above) only outside CI. */
export const describeCluster = describe.skipIf(clusterUnavailable !== "");

export function adminKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(inject("kubeconfig"));
  return kc;
}

/** The same admin as the operator's own loader reads it, for KubeClient. */
export function adminConnection(): KubeConnection {
  return loadKubeconfigFiles([inject("kubeconfig")]);
}

export function kubeConfigFromFile(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A kubeconfig for a user with a client certificate signed by the cluster CA; RBAC gives it nothing by default. */
export function userKubeconfig(user: string, groups: string[] = []): Promise<string> {
  return writeUserKubeconfig(inject("controlPlaneDir"), adminKubeConfig().getCurrentCluster()!.server, user, groups);
}

export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** A namespace of this test file's own, created before its tests and deleted after them. */
export function useNamespace(prefix: string, labels: Record<string, string> = {}): { name: string } {
  const ns = { name: randomName(prefix) };
  beforeAll(async () => {
    if (clusterUnavailable) return;
    await adminKubeConfig().makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns.name, labels } } });
  });
  afterAll(async () => {
    if (clusterUnavailable) return;
    await adminKubeConfig().makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: ns.name }).catch(() => undefined);
  });
  return ns;
}

/** Runs the kubectl that matches the control plane's version. */
export async function kubectl(args: string[], opts: { kubeconfig?: string; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  const child = run(inject("kubectl"), args, { env: { ...process.env, KUBECONFIG: opts.kubeconfig ?? inject("kubeconfig") } });
  if (opts.input !== undefined) {
    child.child.stdin?.end(opts.input);
  }
  return child;
}

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof k8s.ApiException && err.code === code;
}
