import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, inject, it, vi } from "vitest";
import { parse } from "yaml";
import { controlPlaneBinaries } from "../controlplane/binaries.ts";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { KubeClient } from "../../operator/kube/client.ts";
import { connectionFromKubeconfig, type Kubeconfig } from "../../operator/kube/config.ts";
import { Informer, type KubernetesObject } from "../../operator/runtime/informer.ts";
import { adminConnection, adminKubeConfig, describeCluster, isApiError, kubeConfigFromFile, randomName, useNamespace } from "../support/cluster.ts";

const configMaps = { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps" };
const fast = { baseMs: 50, maxMs: 500 };

/** Records handler calls as "add:name", "update:name", "delete:name". */
function record<T extends KubernetesObject>(informer: Informer<T>): string[] {
  const events: string[] = [];
  informer.addHandlers({
    onAdd: (o) => events.push(`add:${o.metadata!.name!}`),
    onUpdate: (o) => events.push(`update:${o.metadata!.name!}`),
    onDelete: (o) => events.push(`delete:${o.metadata!.name!}`),
  });
  return events;
}

/**
 * A TCP pass-through to the API server that can be cut (every open connection reset, new ones refused) and
 * restored: the informer talks to the real API server, and we make its connection drop for real.
 */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  private readonly server: Server;
  private readonly upstream: { host: string; port: number };

  private constructor(server: Server, upstream: { host: string; port: number }) {
    this.server = server;
    this.upstream = upstream;
    server.on("connection", (client) => this.accept(client));
  }

  static async start(upstreamUrl: string): Promise<CuttableProxy> {
    const url = new URL(upstreamUrl);
    const proxy = new CuttableProxy(createServer(), { host: url.hostname, port: Number(url.port) });
    await new Promise<void>((r) => proxy.server.listen(0, "127.0.0.1", r));
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private accept(client: Socket): void {
    if (this.cutOff) {
      client.destroy();
      return;
    }
    const upstream = connect(this.upstream.port, this.upstream.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  restore(): void {
    this.cutOff = false;
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}

/** A client with the control plane's admin credentials, pointed at another address (a proxy in front of the API server). */
function clientVia(kubeconfigPath: string, server: string): KubeClient {
  const base = parse(readFileSync(kubeconfigPath, "utf8")) as Kubeconfig;
  const config = { ...base, clusters: base.clusters?.map((c) => ({ ...c, cluster: { ...c.cluster, server } })) };
  return new KubeClient(connectionFromKubeconfig(config, { dir: dirname(kubeconfigPath) }));
}

const adminClient = () => new KubeClient(adminConnection());

/** A client that acts as `user` (impersonated by the admin), who has no RBAC at all. */
function clientAs(kubeconfigPath: string, user: string): KubeClient {
  const base = parse(readFileSync(kubeconfigPath, "utf8")) as Kubeconfig;
  const config = { ...base, users: base.users?.map((u) => ({ ...u, user: { ...u.user, as: user } })) };
  return new KubeClient(connectionFromKubeconfig(config, { dir: dirname(kubeconfigPath) }));
}

async function startControlPlane(extraApiServerArgs: string[]): Promise<ControlPlane> {
  return ControlPlane.start({ binaries: (await controlPlaneBinaries({ build: false }))!, extraApiServerArgs });
}

describeCluster("Informer", () => {
  const ns = useNamespace("informer");

  it("lists, then delivers adds, updates and deletes of matching objects and keeps its cache current", async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const labels = { app: "informer-test" };
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "existing", labels }, data: { v: "0" } } });
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "unlabelled" } } });

    const informer = new Informer<k8s.V1ConfigMap>(adminClient(), configMaps, { namespace: ns.name, labelSelector: "app=informer-test", resyncMs: 200 });
    const events = record(informer);
    const resynced = new Set<string>();
    informer.addHandlers({ onResync: (o) => resynced.add(o.metadata!.name!) });
    informer.start();
    try {
      await informer.waitForSync();
      expect(informer.hasSynced).toBe(true);
      expect(informer.available).toBe(true);
      expect(events).toEqual(["add:existing"]);
      expect(informer.get(ns.name, "existing")?.data).toEqual({ v: "0" });
      expect(informer.get(ns.name, "existing")?.kind).toBe("ConfigMap");
      expect(informer.get(ns.name, "unlabelled")).toBeUndefined();

      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "fresh", labels }, data: { v: "1" } } });
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "other" } } });
      await core.patchNamespacedConfigMap({ namespace: ns.name, name: "existing", body: { data: { v: "2" } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
      await core.deleteNamespacedConfigMap({ namespace: ns.name, name: "fresh" });
      await vi.waitFor(() => expect(events).toEqual(["add:existing", "add:fresh", "update:existing", "delete:fresh"]), { timeout: 15_000 });
      expect(informer.get(ns.name, "existing")?.data).toEqual({ v: "2" });
      expect(informer.list().map((o) => o.metadata!.name)).toEqual(["existing"]);
      await vi.waitFor(() => expect([...resynced]).toEqual(["existing"]), { timeout: 5_000 });
    } finally {
      await informer.stop();
    }
  });

  it("watches a cluster-scoped type across the cluster", async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const label = randomName("scope");
    const informer = new Informer<k8s.V1Namespace>(adminClient(), { apiVersion: "v1", kind: "Namespace", plural: "namespaces", namespaced: false },
      { labelSelector: `informer-test=${label}` });
    const events = record(informer);
    informer.start();
    const name = randomName("scoped");
    try {
      await informer.waitForSync();
      await core.createNamespace({ body: { metadata: { name, labels: { "informer-test": label } } } });
      await vi.waitFor(() => expect(events).toEqual([`add:${name}`]), { timeout: 15_000 });
      expect(informer.get(undefined, name)?.metadata?.name).toBe(name);
    } finally {
      await informer.stop();
      await core.deleteNamespace({ name }).catch(() => undefined);
    }
  });

  it("reports a type it may not list (403) as forbidden, not as not installed", async () => {
    const informer = new Informer(clientAs(inject("kubeconfig"), "someone-without-rbac"), configMaps, { namespace: ns.name, unavailableRetryMs: 300 });
    informer.start();
    try {
      await informer.waitForSync({ allowUnavailable: true });
      expect({ available: informer.available, forbidden: informer.forbidden }).toEqual({ available: false, forbidden: true });
      expect(informer.unavailableReason).toMatch(/forbidden to list configmaps \(403\)/);
    } finally {
      await informer.stop();
    }
    // A type that is not served is not "forbidden".
    const missing = new Informer(adminClient(), { apiVersion: "nothing.test.minixdr.io/v1", kind: "Nothing", plural: "nothings" }, { namespace: ns.name, unavailableRetryMs: 300 });
    missing.start();
    try {
      await missing.waitForSync({ allowUnavailable: true });
      expect({ available: missing.available, forbidden: missing.forbidden }).toEqual({ available: false, forbidden: false });
    } finally {
      await missing.stop();
    }
  });

  it("reports a type that is not installed and picks it up once its CRD is installed", async () => {
    const group = `${randomName("w")}.test.minixdr.io`;
    const widgets = { apiVersion: `${group}/v1`, kind: "Widget", plural: "widgets" };
    const ext = adminKubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    const custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const informer = new Informer(adminClient(), widgets, { namespace: ns.name, unavailableRetryMs: 300 });
    const events = record(informer);
    informer.start();
    try {
      await informer.waitForSync({ allowUnavailable: true });
      expect(informer.available).toBe(false);
      expect(informer.hasSynced).toBe(false);
      expect(informer.unavailableReason).toMatch(/widgets\.[\w.-]+\/v1 is not served by the API server \(404/);

      await ext.createCustomResourceDefinition({
        body: {
          metadata: { name: `widgets.${group}` },
          spec: {
            group, scope: "Namespaced",
            names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
            versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true } } }],
          },
        },
      });
      await vi.waitFor(() => expect(informer.hasSynced).toBe(true), { timeout: 30_000, interval: 100 });
      expect(informer.available).toBe(true);
      expect(informer.unavailableReason).toBeUndefined();
      await custom.createNamespacedCustomObject({ group, version: "v1", namespace: ns.name, plural: "widgets",
        body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "first" }, spec: { size: 1 } } });
      await vi.waitFor(() => expect(events).toEqual(["add:first"]), { timeout: 15_000 });

      // Uninstalling the CRD takes its objects with it; the informer says so and goes back to waiting.
      await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` });
      await vi.waitFor(() => {
        expect(informer.available).toBe(false);
        expect(events).toEqual(["add:first", "delete:first"]);
      }, { timeout: 30_000, interval: 100 });
      expect(informer.list()).toEqual([]);
    } finally {
      await informer.stop();
      await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` }).catch(() => undefined);
    }
  });
});

describeCluster("Informer when watches end or connections drop", () => {
  let cp: ControlPlane;
  let proxy: CuttableProxy;
  beforeAll(async () => {
    // Watches without timeoutSeconds end after --min-request-timeout x (1..2) seconds.
    cp = await startControlPlane(["--min-request-timeout=3"]);
    proxy = await CuttableProxy.start(cp.server);
  });
  afterAll(async () => {
    proxy?.close();
    await cp?.stop();
  });

  it("re-watches from the last resourceVersion and delivers events after the drop", async () => {
    const core = kubeConfigFromFile(cp.kubeconfigPath).makeApiClient(k8s.CoreV1Api);
    const namespace = randomName("drops");
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const informer = new Informer<k8s.V1ConfigMap>(clientVia(cp.kubeconfigPath, proxy.url), configMaps, { namespace, backoff: fast });
    const events = record(informer);
    informer.start();
    try {
      await informer.waitForSync();
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "before" } } });
      await vi.waitFor(() => expect(events).toEqual(["add:before"]), { timeout: 10_000 });

      // The API server ends the watch (after 3 to 6 s); what happens after is still delivered.
      await vi.waitFor(() => expect(informer.stats.watches).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 100 });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "after-server-end" } } });
      await vi.waitFor(() => expect(events).toContain("add:after-server-end"), { timeout: 10_000 });

      // The connection drops; a change made while it is down arrives once it is back.
      const watchesBefore = informer.stats.watches;
      proxy.cut();
      await core.deleteNamespacedConfigMap({ namespace, name: "before" });
      await vi.waitFor(() => expect(informer.stats.watches).toBeGreaterThan(watchesBefore + 1), { timeout: 10_000, interval: 50 });
      proxy.restore();
      await vi.waitFor(() => expect(events).toEqual(["add:before", "add:after-server-end", "delete:before"]), { timeout: 15_000 });
      // It resumed from its resourceVersion: one list in all, no 410.
      expect(informer.stats.lists).toBe(1);
      expect(informer.stats.expired).toBe(0);
    } finally {
      proxy.restore();
      await informer.stop();
    }
  });
});

describeCluster("Informer after its resourceVersion expired", () => {
  let cp: ControlPlane;
  let proxy: CuttableProxy;
  beforeAll(async () => {
    // Without the watch cache, watches read etcd directly, and an old resourceVersion that etcd compacted
    // away gets a real 410 Gone; the API server compacts every 2 s here.
    cp = await startControlPlane(["--watch-cache=false", "--etcd-compaction-interval=2s"]);
    proxy = await CuttableProxy.start(cp.server);
  });
  afterAll(async () => {
    proxy?.close();
    await cp?.stop();
  });

  it("re-lists on 410 Gone and emits what changed while it was away, deletes included", async () => {
    const core = kubeConfigFromFile(cp.kubeconfigPath).makeApiClient(k8s.CoreV1Api);
    const namespace = randomName("expired");
    const elsewhere = randomName("churn");
    for (const name of [namespace, elsewhere]) await core.createNamespace({ body: { metadata: { name } } });
    for (const name of ["keep", "gone"]) await core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { v: "0" } } });
    const informer = new Informer<k8s.V1ConfigMap>(clientVia(cp.kubeconfigPath, proxy.url), configMaps, { namespace, backoff: fast });
    const events = record(informer);
    informer.start();
    try {
      await informer.waitForSync();
      expect(events.sort()).toEqual(["add:gone", "add:keep"]);
      events.length = 0;
      const seenRv = informer.resourceVersion;

      proxy.cut();
      await core.deleteNamespacedConfigMap({ namespace, name: "gone" });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "new" } } });
      await core.patchNamespacedConfigMap({ namespace, name: "keep", body: { data: { v: "1" } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
      // Writes elsewhere move etcd's revision on until the one the informer holds is compacted away.
      let n = 0;
      await vi.waitFor(async () => {
        await core.createNamespacedConfigMap({ namespace: elsewhere, body: { metadata: { name: `churn-${n++}` } } });
        const err = await core.listNamespacedConfigMap({ namespace, resourceVersion: seenRv, resourceVersionMatch: "Exact" }).then(() => undefined, (e: unknown) => e);
        expect(isApiError(err, 410)).toBe(true);
      }, { timeout: 30_000, interval: 200 });
      expect(informer.resourceVersion).toBe(seenRv);

      proxy.restore();
      await vi.waitFor(() => expect(events.sort()).toEqual(["add:new", "delete:gone", "update:keep"]), { timeout: 20_000 });
      expect(informer.stats.expired).toBeGreaterThanOrEqual(1);
      expect(informer.stats.lists).toBeGreaterThanOrEqual(2);
      expect(informer.list().map((o) => o.metadata!.name).sort()).toEqual(["keep", "new"]);
      expect(informer.get(namespace, "keep")?.data).toEqual({ v: "1" });
    } finally {
      proxy.restore();
      await informer.stop();
    }
  });
});
