// The controller's start-up order, on the real API server: no MiniXdr is reconciled before every child cache has
// synced, however slowly a child kind lists (here the Deployment list answers 1.5 s late, as a cluster with many
// managed Deployments does), so an operator restart never reports existing children missing.
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MiniXdrController } from "../../operator/controller/controller.ts";
import type { MiniXdrReconciler } from "../../operator/controller/reconciler.ts";
import { KubeClient, type CallOptions, type Verb } from "../../operator/kube/client.ts";
import { adminConnection, describeCluster, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd } from "../support/operator.ts";
import { applyMiniXdr } from "../support/minixdr.ts";

/** The real client, with the Deployment lists answering late. */
class SlowDeploymentLists extends KubeClient {
  override async call<T>(verb: Verb, resource: string, method: string, path: string, opts: CallOptions = {}): Promise<T> {
    if (verb === "list" && resource === "deployments") await new Promise((r) => setTimeout(r, 1_500));
    return super.call<T>(verb, resource, method, path, opts);
  }
}

describeCluster("MiniXdr controller start-up", () => {
  const ns = useNamespace("controller-start");
  let controller: MiniXdrController | undefined;
  beforeAll(async () => {
    await installMiniXdrCrd();
    await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "early", namespace: ns.name }, spec: {} });
  });
  afterAll(async () => controller?.stop());

  it("reconciles no MiniXdr before every child cache has synced", async () => {
    const seen: { key: string; unsynced: string[] }[] = [];
    controller = new MiniXdrController({
      client: new SlowDeploymentLists(adminConnection()),
      watchNamespace: ns.name,
      log: pino({ level: "silent" }),
      reconciler: () => ({
        reconcile: (key: string) => {
          // The child informers (the first is the MiniXdr informer, whose own list is what queued the key).
          seen.push({ key, unsynced: controller!.watched.slice(1).filter((w) => !w.informer.hasSynced && w.informer.available !== false).map((w) => w.informer.name) });
          return Promise.resolve({});
        },
      }) as unknown as MiniXdrReconciler,
    });
    await controller.start();
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(seen[0]).toEqual({ key: `${ns.name}/early`, unsynced: [] });
  });
});
