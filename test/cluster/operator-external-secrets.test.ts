import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { driftedFields } from "../../operator/controller/drift.ts";
import { render } from "../../operator/render/render.ts";
import { describeCluster, kubectl, useNamespace } from "../support/cluster.ts";
import { applyManifest, installMiniXdrCrd, startTestOperator, waitForCrd, type TestOperator } from "../support/operator.ts";
import { admin, applyMiniXdr, condition, exampleMiniXdr, getChild, miniXdrRef, waitForStatus } from "../support/minixdr.ts";

const crdFile = "test/fixtures/external-secrets.io_externalsecrets.yaml";

describeCluster("ExternalSecret support", () => {
  const ns = useNamespace("external-secrets");
  let operator: TestOperator;

  beforeAll(async () => {
    await installMiniXdrCrd();
    operator = await startTestOperator(ns.name);
  });
  afterAll(async () => {
    await operator?.stop();
    await kubectl(["delete", "--ignore-not-found", "-f", crdFile]);
  });

  it("without the CRD: reconciles everything else and reports Degraded ExternalSecretsNotInstalled; with it: converges", async () => {
    const cr = exampleMiniXdr("production.yaml", ns.name);
    await applyMiniXdr(cr);
    const degraded = await waitForStatus(ns.name, "production", (c) => condition(c, "Degraded")?.status === "True");
    expect(condition(degraded, "Degraded")).toMatchObject({ reason: "ExternalSecretsNotInstalled", message: expect.stringMatching(/ExternalSecret API is not installed/) });
    await vi.waitFor(async () => {
      for (const kind of ["Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap"]) {
        expect(await getChild(kind, ns.name, kind === "ConfigMap" ? "production-config" : "production-detector"), kind).toBeDefined();
      }
    }, { timeout: 20_000, interval: 250 });

    await applyManifest(crdFile);
    await waitForCrd("externalsecrets.external-secrets.io");
    // The operator notices the API appearing on its own (its informer retries), with no change to the MiniXdr.
    const recovered = await waitForStatus(ns.name, "production", (c) => condition(c, "Degraded")?.status === "False", 40_000);
    expect(condition(recovered, "Degraded")?.reason).toBe("AsExpected");
    const stored: MiniXdr = await admin().get(miniXdrRef, ns.name, "production");
    for (const child of render(stored)) {
      const live = await getChild(child.object.kind, ns.name, child.object.metadata.name);
      expect(live, `${child.object.kind} ${child.object.metadata.name}`).toBeDefined();
      expect(driftedFields(child.object, live)).toEqual([]);
    }
    const es = await getChild("ExternalSecret", ns.name, "production-secrets-external");
    expect(es!.spec).toMatchObject({ secretStoreRef: { name: "vault", kind: "ClusterSecretStore" }, target: { name: "production-secrets-external", creationPolicy: "Owner" } });

    // Turning the ExternalSecret off (to a Secret the user manages) prunes it.
    await applyMiniXdr({ ...cr, spec: { ...cr.spec, secrets: { existingSecret: "production-manual" } } });
    await vi.waitFor(async () => expect(await getChild("ExternalSecret", ns.name, "production-secrets-external")).toBeUndefined(), { timeout: 20_000, interval: 250 });
  }, 90_000);
});
