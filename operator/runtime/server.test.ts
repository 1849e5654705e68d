import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SyncStatus } from "./informer.ts";
import { createLogger } from "./logger.ts";
import { OperatorMetrics } from "./metrics.ts";
import { buildServer, type OperatorServer, type Readiness, type WatchedType } from "./server.ts";

function status(name: string, s: Partial<SyncStatus> = {}): SyncStatus {
  return { name, hasSynced: false, available: undefined, unavailableReason: undefined, ...s };
}

describe("operator HTTP server", () => {
  let leader = false;
  let starting = false;
  let watched: WatchedType[] = [];
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const server = buildServer({ metrics, informers: () => watched, isLeader: () => leader, isStarting: () => starting });
  beforeAll(() => server.listen({ port: 0, host: "127.0.0.1" }));
  afterAll(() => server.close());
  const get = (s: OperatorServer, path: string, method = "GET") => fetch(`http://127.0.0.1:${s.port}${path}`, { method });
  afterEach(() => {
    leader = false;
    starting = false;
    watched = [];
  });

  it("answers /healthz whatever the informers say", async () => {
    watched = [{ informer: status("minixdrs.xdr.minixdr.io") }];
    const res = await get(server, "/healthz");
    expect(res.status).toBe(200);
  });

  it("is unready until every informer has synced, then ready", async () => {
    const mini = status("minixdrs.xdr.minixdr.io");
    const cms = status("configmaps", { hasSynced: true, available: true });
    watched = [{ informer: mini }, { informer: cms }];
    let res = await get(server, "/readyz");
    expect(res.status).toBe(503);
    expect((await res.json() as Readiness).informers).toEqual([
      { name: "minixdrs.xdr.minixdr.io", synced: false, available: null, optional: false },
      { name: "configmaps", synced: true, available: true, optional: false },
    ]);
    watched = [{ informer: { ...mini, hasSynced: true, available: true } }, { informer: cms }];
    res = await get(server, "/readyz");
    expect(res.status).toBe(200);
    expect((await res.json() as Readiness)).toMatchObject({ ready: true, leader: false });
  });

  it("is ready as a follower and says so, and reports leadership when leading", async () => {
    watched = [{ informer: status("configmaps", { hasSynced: true, available: true }) }];
    let res = await get(server, "/readyz");
    expect(res.status).toBe(200);
    expect((await res.json() as Readiness).leader).toBe(false);
    leader = true;
    res = await get(server, "/readyz");
    expect((await res.json() as Readiness).leader).toBe(true);
  });

  it("is unready while it leads and its controller has not started (no informers yet to count)", async () => {
    leader = true;
    starting = true;
    let res = await get(server, "/readyz");
    expect(res.status).toBe(503);
    expect(await res.json() as Readiness).toMatchObject({ ready: false, leader: true, starting: true, informers: [] });
    starting = false;
    watched = [{ informer: status("configmaps", { hasSynced: true, available: true }) }];
    res = await get(server, "/readyz");
    expect(res.status).toBe(200);
  });

  it("does not wait for an optional type that is not installed, but does for a required one", async () => {
    const missing = { available: false, unavailableReason: "externalsecrets.external-secrets.io/v1 is not served by the API server (404 on list)" };
    watched = [{ informer: status("configmaps", { hasSynced: true, available: true }) }, { informer: status("externalsecrets.external-secrets.io", missing), optional: true }];
    let res = await get(server, "/readyz");
    expect(res.status).toBe(200);
    expect((await res.json() as Readiness).informers[1]).toMatchObject({ available: false, optional: true, reason: expect.stringMatching(/not served/) as string });
    watched = [{ informer: status("minixdrs.xdr.minixdr.io", missing) }];
    res = await get(server, "/readyz");
    expect(res.status).toBe(503);
  });

  it("serves the metrics registry in Prometheus text format", async () => {
    metrics.setLeader(true);
    metrics.reconciled("ns/x", "success", 0.02);
    const res = await get(server, "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    expect(body).toMatch(/^minixdr_leader 1$/m);
    expect(body).toMatch(/^minixdr_reconcile_total\{result="success"\} 1$/m);
    expect(body).toMatch(/^# TYPE minixdr_reconcile_duration_seconds histogram$/m);
  });

  it("accepts the operator's pino logger", async () => {
    const logged = buildServer({ metrics, informers: () => [], isLeader: () => true, logger: createLogger({ level: "silent" }) });
    await logged.listen({ port: 0, host: "127.0.0.1" });
    try {
      const res = await get(logged, "/readyz");
      expect(res.status).toBe(200);
      expect((await res.json() as Readiness)).toEqual({ ready: true, leader: true, starting: false, informers: [] });
    } finally {
      await logged.close();
    }
  });

  it("answers HEAD like GET without a body, and 404 for anything else", async () => {
    const head = await get(server, "/healthz", "HEAD");
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect((await get(server, "/healthz?verbose=1")).status).toBe(200);
    expect((await get(server, "/nope")).status).toBe(404);
    expect((await get(server, "/healthz", "POST")).status).toBe(404);
  });
});
