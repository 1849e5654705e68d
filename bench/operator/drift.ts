// Drift repair: a hand edit of a child (the detector Deployment's image, as `kubectl edit` would) until the operator
// has put it back. Baseline: the same edit until a plain watcher is told of it, the floor any controller reacts from.
import * as k8s from "@kubernetes/client-node";
import { childKindOf } from "../../operator/render/child-kinds.ts";
import type { KubeClient } from "../../operator/kube/client.ts";
import { progress, sleep } from "../support/progress.ts";

export interface DriftSamples {
  restoredMs: number[];
  notifiedMs: number[];
}

interface Waiter {
  name: string;
  match: (image: string) => boolean;
  resolve: (at: number) => void;
}

type Deployment = { metadata: { name: string }; spec: { template: { spec: { containers: { image: string }[] } } } };

class DeploymentImages {
  readonly images = new Map<string, string>();
  private waiters: Waiter[] = [];
  private abort: AbortController | undefined;

  async start(kc: k8s.KubeConfig, namespace: string): Promise<void> {
    const watch = new k8s.Watch(kc);
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 15 * 60_000; // private in the typings
    this.abort = await watch.watch(`/apis/apps/v1/namespaces/${namespace}/deployments`, {}, (_type: string, d: Deployment) => {
      const at = performance.now();
      const image = d.spec.template.spec.containers[0]?.image ?? "";
      this.images.set(d.metadata.name, image);
      this.waiters = this.waiters.filter((w) => {
        if (w.name !== d.metadata.name || !w.match(image)) return true;
        w.resolve(at);
        return false;
      });
    }, () => {});
  }

  /** The time of the next event for `name` whose image matches. */
  next(name: string, match: (image: string) => boolean): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ name, match, resolve }));
  }

  stop(): void {
    this.abort?.abort();
  }
}

const evil = "evil.example/miner:1";

export async function measureDrift(opts: { kc: k8s.KubeConfig; admin: KubeClient; namespace: string; names: string[] }): Promise<DriftSamples> {
  const images = new DeploymentImages();
  await images.start(opts.kc, opts.namespace);
  await sleep(500);
  const samples: DriftSamples = { restoredMs: [], notifiedMs: [] };
  const deployment = childKindOf("Deployment");
  for (const [i, name] of opts.names.entries()) {
    const deploymentName = `${name}-detector`;
    const desired = images.images.get(deploymentName);
    if (!desired) throw new Error(`Deployment ${opts.namespace}/${deploymentName} not seen by the watch`);
    const notified = images.next(deploymentName, (img) => img === evil);
    // Registered before the edit: the restoring event may arrive in the same chunk as the edit's.
    let sawEdit = false;
    const restoredAt = images.next(deploymentName, (img) => {
      if (img === evil) sawEdit = true;
      return sawEdit && img === desired;
    });
    const t0 = performance.now();
    await opts.admin.apply(deployment, opts.namespace, deploymentName, {
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: deploymentName, namespace: opts.namespace },
      spec: { template: { spec: { containers: [{ name: "detector", image: evil }] } } },
    }, { manager: "kubectl-edit" });
    const t1 = await notified;
    const restored = await Promise.race([restoredAt, sleep(30_000).then(() => Number.NaN)]);
    samples.notifiedMs.push(t1 - t0);
    samples.restoredMs.push(restored - t0);
    if ((i + 1) % 5 === 0 || i === opts.names.length - 1) {
      progress("operator/drift", `${i + 1} of ${opts.names.length} edits (last: restored after ${(restored - t0).toFixed(0)} ms, watch notified after ${(t1 - t0).toFixed(0)} ms)`);
    }
    await sleep(200);
  }
  images.stop();
  return samples;
}
