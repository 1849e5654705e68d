import { readFile } from "node:fs/promises";
import { expect, inject, it, vi } from "vitest";
import { KubeClient, type KubeObject } from "../../operator/kube/client.ts";
import { loadKubeconfigFiles } from "../../operator/kube/config.ts";
import { countRequests } from "../../operator/runtime/counting-client.ts";
import { Informer } from "../../operator/runtime/informer.ts";
import { OperatorMetrics } from "../../operator/runtime/metrics.ts";
import { describeCluster, randomName, userKubeconfig, useNamespace } from "../support/cluster.ts";

interface AuditEvent {
  auditID: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string };
}

/** Requests the API server logged for one user, as "verb resource[/subresource]", once per request. */
async function auditedRequests(user: string): Promise<string[]> {
  const events = new Map<string, AuditEvent>();
  for (const line of (await readFile(inject("auditLog"), "utf8")).split("\n")) {
    if (!line.includes(user)) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.user.username === user) events.set(e.auditID, e);
  }
  return [...events.values()].map((e) => `${e.verb} ${e.objectRef?.resource ?? ""}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`).sort();
}

async function countedRequests(metrics: OperatorMetrics): Promise<string[]> {
  const counted: string[] = [];
  for (const v of (await metrics.apiRequestsTotal.get()).values) {
    for (let i = 0; i < v.value; i++) counted.push(`${v.labels.verb} ${v.labels.resource}`);
  }
  return counted.sort();
}

describeCluster("countRequests with minixdr_api_requests_total", () => {
  const ns = useNamespace("counting");

  it("counts every request by verb and resource, exactly as the API server's audit log records them", async () => {
    // A user of this test's own, so the audit log can be filtered to exactly these requests.
    const user = randomName("counted-operator");
    const connection = loadKubeconfigFiles([await userKubeconfig(user, ["system:masters"])]);
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    countRequests(connection, metrics.apiRequest);

    const client = new KubeClient(connection);
    const configMaps = { group: "", version: "v1", plural: "configmaps" };
    await client.create(configMaps, ns.name, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" }, data: { a: "1" } });
    await client.get(configMaps, ns.name, "cm");
    await client.call("list", "configmaps", "GET", `/api/v1/namespaces/${ns.name}/configmaps`);
    await client.apply(configMaps, ns.name, "cm", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" }, data: { a: "2" } });
    const cm = await client.get<KubeObject>(configMaps, ns.name, "cm");
    await client.update(configMaps, ns.name, "cm", cm);
    await client.delete(configMaps, ns.name, "cm", cm.metadata!.uid!);
    await client.call("list", "deployments", "GET", `/apis/apps/v1/namespaces/${ns.name}/deployments`);
    // The informer's list and watch go through the same connection.
    const informer = new Informer(client, { apiVersion: "v1", kind: "Secret", plural: "secrets" }, { namespace: ns.name });
    informer.start();
    await informer.waitForSync();
    await vi.waitFor(() => expect(informer.stats.watches).toBe(1));
    await informer.stop();

    const expected = [
      "create configmaps", "get configmaps", "get configmaps", "list configmaps", "patch configmaps", "update configmaps",
      "delete configmaps", "list deployments", "list secrets", "watch secrets",
    ].sort();
    expect(await countedRequests(metrics)).toEqual(expected);
    await vi.waitFor(async () => expect(await auditedRequests(user)).toEqual(expected), { timeout: 10_000, interval: 200 });
    expect(await metrics.text()).toMatch(/minixdr_api_requests_total\{verb="get",resource="configmaps"\} 2/);
  });
});
