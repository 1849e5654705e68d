// Pod user ids where the platform assigns them: OpenShift's restricted-v2 SecurityContextConstraints refuses a pod that
// asks for uid 1000. A second control plane of this file's own serves the SecurityContextConstraints API (as a CRD, as
// OpenShift 4 serves it), so the shared one, where other files' operators run, never does.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { stringify } from "yaml";
import type { MiniXdr } from "../../operator/api/minixdr.ts";
import { resolvePodUserIds } from "../../operator/controller/pod-user-ids.ts";
import { KubeClient, type KubeObject } from "../../operator/kube/client.ts";
import { connectionFromKubeconfig, loadKubeconfigFiles } from "../../operator/kube/config.ts";
import { startOperator, type RunningOperator } from "../../operator/operator.ts";
import { childKindOf } from "../../operator/render/child-kinds.ts";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { describeCluster, randomName, useNamespace } from "../support/cluster.ts";
import { exampleMiniXdr, miniXdrRef } from "../support/minixdr.ts";
import { operatorConnection } from "../support/operator.ts";
import { applyAs, operatorServiceAccountKubeconfig } from "../support/operator-identity.ts";

const silent = pino({ level: "silent" });
const root = join(import.meta.dirname, "../..");

/** SecurityContextConstraints as OpenShift 4 defines it (a cluster-scoped CRD), without its schema. */
const sccCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "securitycontextconstraints.security.openshift.io" },
  spec: {
    group: "security.openshift.io",
    scope: "Cluster",
    names: { kind: "SecurityContextConstraints", listKind: "SecurityContextConstraintsList", plural: "securitycontextconstraints", singular: "securitycontextconstraints" },
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
  },
};

describeCluster("pod user ids", () => {
  const ns = useNamespace("pod-user-ids");

  it("auto: fixed on a cluster that does not serve SecurityContextConstraints, asked as the operator's ServiceAccount (discovery needs no RBAC rule)", async () => {
    const client = new KubeClient(await operatorConnection(ns.name));
    expect(await resolvePodUserIds(client, "auto", silent)).toBe("fixed");
  });

  describe("on a cluster that serves SecurityContextConstraints", () => {
    let cp: ControlPlane;
    let dir: string;
    let admin: KubeClient;
    const operators: RunningOperator[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "minixdr-scc-"));
      writeFileSync(join(dir, "scc-crd.yaml"), stringify(sccCrd));
      cp = await ControlPlane.start({ crdFiles: [join(root, "crds/xdr.minixdr.io_minixdrs.yaml"), join(dir, "scc-crd.yaml")] });
      admin = new KubeClient(loadKubeconfigFiles([cp.kubeconfigPath]));
    }, 120_000);
    afterAll(async () => {
      for (const o of operators) await o.stop();
      await cp?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** The operator as its ServiceAccount (bound to config/rbac) in a namespace enforcing pod-security restricted. */
    async function operatorFor(podUserIds?: "auto" | "fixed"): Promise<string> {
      const namespace = randomName("scc");
      await applyAs(admin, "test-admin", { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } });
      const kubeconfig = await operatorServiceAccountKubeconfig(admin, cp.kubeconfigPath, namespace, `minixdr-operator-${namespace}`);
      operators.push(await startOperator({
        connection: connectionFromKubeconfig(kubeconfig, { source: "operator" }), log: silent, identity: namespace,
        leaderElection: false, watchNamespace: namespace, ...(podUserIds ? { podUserIds } : {}),
      }));
      const cr: MiniXdr = exampleMiniXdr("basic.yaml", namespace);
      cr.spec = { ...cr.spec, console: { enabled: true } };
      await admin.apply(miniXdrRef, namespace, cr.metadata.name, cr, { manager: "test-admin" });
      return namespace;
    }

    const deployment = (namespace: string, name: string) => vi.waitFor(() => admin.get<KubeObject & { spec: { template: { spec: Record<string, unknown> } } }>(childKindOf("Deployment"), namespace, name), { timeout: 20_000, interval: 200 });

    it("auto: pods set no uid, gid or fsGroup, and the replicaset controller's pods pass pod-security restricted", async () => {
      const namespace = await operatorFor();
      for (const component of ["detector", "console"]) {
        const d = await deployment(namespace, `basic-${component}`);
        expect(d.spec.template.spec.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        const containers = d.spec.template.spec.containers as { securityContext: Record<string, unknown> }[];
        expect(containers[0]!.securityContext).not.toHaveProperty("runAsUser");
        expect(containers[0]!.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
        // Admitted: the ReplicaSet's pods exist (a refusal leaves it with none and a FailedCreate condition).
        await vi.waitFor(async () => {
          const pods = await admin.call<{ items: KubeObject[] }>("list", "pods", "GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/component=${component}`)}`);
          expect(pods.items.length).toBeGreaterThan(0);
        }, { timeout: 20_000, interval: 250 });
      }
    });

    it("--pod-user-ids=fixed wins over what the API server serves", async () => {
      const namespace = await operatorFor("fixed");
      const d = await deployment(namespace, "basic-detector");
      expect(d.spec.template.spec.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
    });
  });
});
