import * as k8s from "@kubernetes/client-node";
import { beforeAll, expect, it, vi } from "vitest";
import { adminKubeConfig, describeCluster, isApiError, randomName } from "../support/cluster.ts";
import { installMiniXdrCrd, startTestOperator } from "../support/operator.ts";
import { applyMiniXdr, getChild } from "../support/minixdr.ts";

describeCluster("deleting while the operator is gone", () => {
  beforeAll(installMiniXdrCrd);

  it("a namespace with a MiniXdr and its children deletes completely with no operator running (no finalizer to wedge it)", async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const name = randomName("absent");
    await core.createNamespace({ body: { metadata: { name } } });
    const operator = await startTestOperator(name);
    await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "orphaned", namespace: name }, spec: { console: { enabled: true } } });
    await vi.waitFor(async () => expect(await getChild("Deployment", name, "orphaned-console")).toBeDefined(), { timeout: 20_000, interval: 200 });
    await operator.stop();

    await core.deleteNamespace({ name });
    await vi.waitFor(async () => {
      const err = await core.readNamespace({ name }).then(() => undefined, (e: unknown) => e);
      expect(isApiError(err, 404)).toBe(true);
    }, { timeout: 60_000, interval: 500 });
  }, 90_000);
});
