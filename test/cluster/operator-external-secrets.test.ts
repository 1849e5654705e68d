import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { parse } from "yaml";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { driftedFields } from "../../operator/controller/drift.ts";
import { render } from "../../operator/render/render.ts";
import { KubeClient, type KubeObject } from "../../operator/kube/client.ts";
import { adminConnection, describeCluster, kubectl, useNamespace } from "../support/cluster.ts";
import { applyManifest, applyObject, installMiniXdrCrd, startTestOperator, waitForCrd, type TestOperator } from "../support/operator.ts";
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

  it("with an external-secrets that serves only v1beta1 (before 0.16.2): says to upgrade it, not to install it", async () => {
    await kubectl(["delete", "--ignore-not-found", "--wait", "-f", crdFile]);
    // The same CRD as an older external-secrets serves it: external-secrets.io/v1beta1 only.
    const older = parse(readFileSync(crdFile, "utf8")) as KubeObject & { spec: { versions: { name: string }[] } };
    older.spec.versions[0]!.name = "v1beta1";
    await applyObject(new KubeClient(adminConnection()), older);
    await waitForCrd("externalsecrets.external-secrets.io");
    const cr = exampleMiniXdr("production.yaml", ns.name);
    await applyMiniXdr({ ...cr, metadata: { ...cr.metadata, name: "older-eso" } });
    const degraded = await waitForStatus(ns.name, "older-eso", (c) => /v1beta1/.test(condition(c, "Degraded")?.message ?? ""), 30_000);
    const message = condition(degraded, "Degraded")!.message;
    expect(message).toMatch(/ExternalSecret API external-secrets\.io\/v1 is not served: the API server serves external-secrets\.io v1beta1 only \(external-secrets older than 0\.16\.2; upgrade it\)/);
    expect(message).not.toMatch(/install external-secrets\.io/);
  }, 60_000);
});
