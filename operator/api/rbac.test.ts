import { describe, expect, it } from "vitest";
import { operatorClusterReadsRole, operatorClusterRole, operatorNamespacedRole } from "./rbac.ts";

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const rules = (role: Record<string, unknown>) => role.rules as Rule[];

describe("the operator's RBAC", () => {
  it("namespaced (config/namespaced): the Role and the cluster-scoped reads together grant exactly what the ClusterRole does", () => {
    const split = [...rules(operatorNamespacedRole()), ...rules(operatorClusterReadsRole())];
    const key = (r: Rule) => JSON.stringify(r);
    expect(split.map(key).sort()).toEqual(rules(operatorClusterRole()).map(key).sort());
  });

  it("namespaced: the cluster-scoped part holds no namespaced resource, and no write and no Secret", () => {
    const reads = rules(operatorClusterReadsRole());
    expect(reads.flatMap((r) => r.resources)).toEqual(["storageclasses"]);
    expect(reads.flatMap((r) => r.verbs)).toEqual(["get"]);
    expect(operatorNamespacedRole()).toMatchObject({ kind: "Role" });
    expect(rules(operatorNamespacedRole()).some((r) => r.resources.includes("secrets"))).toBe(true);
  });
});
