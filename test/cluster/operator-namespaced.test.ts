// config/namespaced: the operator bound to a Role in the one namespace it watches (and a ClusterRole of cluster-scoped
// reads only) reconciles an instance there as it does with the ClusterRole, and its identity reads no Secret elsewhere.
import { afterAll, beforeAll, expect, it } from "vitest";
import { render } from "../../operator/render/render.ts";
import { describeCluster, kubectl, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd, operatorConnection, operatorUser, startTestOperator, type TestOperator } from "../support/operator.ts";
import { applyMiniXdr, condition, exampleMiniXdr, getChild, waitForStatus } from "../support/minixdr.ts";

describeCluster("the operator with config/namespaced's RBAC", () => {
  const ns = useNamespace("namespaced");
  const other = useNamespace("elsewhere");
  let operator: TestOperator;

  beforeAll(async () => {
    await installMiniXdrCrd();
    operator = await startTestOperator(ns.name, { connection: await operatorConnection(ns.name, "namespaced") });
  });
  afterAll(async () => operator?.stop());

  it("reconciles an instance in its namespace: every child, the generated Secret, status current and nothing refused", async () => {
    const cr = exampleMiniXdr("basic.yaml", ns.name);
    await applyMiniXdr(cr);
    const done = await waitForStatus(ns.name, cr.metadata.name, (c) => c.status?.observedGeneration === c.metadata.generation && condition(c, "Reconciled")?.status === "True");
    expect(condition(done, "Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
    for (const child of render(cr)) {
      expect(await getChild(child.object.kind, ns.name, child.object.metadata.name), `${child.object.kind}/${child.object.metadata.name}`).toBeDefined();
    }
    // What it asked of the API server was never refused (a missing rule shows as a 403 here first).
    expect(JSON.stringify(done.status)).not.toMatch(/forbidden/i);
  });

  it("may read and write Secrets in its namespace only, and StorageClasses, and nothing cluster-wide", async () => {
    const can = async (...args: string[]) => (await kubectl(["auth", "can-i", ...args, `--as=${operatorUser(ns.name)}`]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }))).stdout.trim();
    expect(await can("list", "secrets", "-n", ns.name)).toBe("yes");
    expect(await can("patch", "secrets", "-n", ns.name)).toBe("yes");
    expect(await can("get", "storageclasses")).toBe("yes");
    expect(await can("list", "secrets", "-n", other.name)).toBe("no");
    expect(await can("get", "secrets", "-n", other.name)).toBe("no");
    expect(await can("list", "secrets", "--all-namespaces")).toBe("no");
    expect(await can("list", "minixdrs.xdr.minixdr.io", "-n", other.name)).toBe("no");
    expect(await can("create", "deployments.apps", "-n", other.name)).toBe("no");
  });
});
