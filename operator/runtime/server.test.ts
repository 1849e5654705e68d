import { afterEach, describe, expect, it } from "vitest";
import type { SyncStatus } from "./informer.ts";
import { createLogger } from "./logger.ts";
import { OperatorMetrics } from "./metrics.ts";
import { buildServer, type Readiness, type WatchedType } from "./server.ts";

function status(name: string, s: Partial<SyncStatus> = {}): SyncStatus {
  return { name, hasSynced: false, available: undefined, unavailableReason: undefined, ...s };
}

describe("operator HTTP server", () => {
  let leader = false;
  let watched: WatchedType[] = [];
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const app = buildServer({ metrics, informers: () => watched, isLeader: () => leader });
  afterEach(() => {
    leader = false;
    watched = [];
  });

  it("answers /healthz whatever the informers say", async () => {
    watched = [{ informer: status("minixdrs.xdr.minixdr.io") }];
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
  });

  it("is unready until every informer has synced, then ready", async () => {
    const mini = status("minixdrs.xdr.minixdr.io");
    const cms = status("configmaps", { hasSynced: true, available: true });
    watched = [{ informer: mini }, { informer: cms }];
    let res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json<Readiness>().informers).toEqual([
      { name: "minixdrs.xdr.minixdr.io", synced: false, available: null, optional: false },
      { name: "configmaps", synced: true, available: true, optional: false },
    ]);
    watched = [{ informer: { ...mini, hasSynced: true, available: true } }, { informer: cms }];
    res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
    expect(res.json<Readiness>()).toMatchObject({ ready: true, leader: false });
  });

  it("is ready as a follower and says so, and reports leadership when leading", async () => {
    watched = [{ informer: status("configmaps", { hasSynced: true, available: true }) }];
    let res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
    expect(res.json<Readiness>().leader).toBe(false);
    leader = true;
    res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.json<Readiness>().leader).toBe(true);
  });

  it("does not wait for an optional type that is not installed, but does for a required one", async () => {
    const missing = { available: false, unavailableReason: "externalsecrets.external-secrets.io/v1 is not served by the API server (404 on list)" };
    watched = [{ informer: status("configmaps", { hasSynced: true, available: true }) }, { informer: status("externalsecrets.external-secrets.io", missing), optional: true }];
    let res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
    expect(res.json<Readiness>().informers[1]).toMatchObject({ available: false, optional: true, reason: expect.stringMatching(/not served/) as string });
    watched = [{ informer: status("minixdrs.xdr.minixdr.io", missing) }];
    res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
  });

  it("serves the metrics registry in Prometheus text format", async () => {
    metrics.setLeader(true);
    metrics.reconciled("ns/x", "success", 0.02);
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^minixdr_leader 1$/m);
    expect(res.body).toMatch(/^minixdr_reconcile_total\{result="success"\} 1$/m);
    expect(res.body).toMatch(/^# TYPE minixdr_reconcile_duration_seconds histogram$/m);
  });

  it("accepts the operator's pino logger", async () => {
    const logged = buildServer({ metrics, informers: () => [], isLeader: () => true, logger: createLogger({ level: "silent" }) });
    const res = await logged.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
    expect(res.json<Readiness>()).toEqual({ ready: true, leader: true, informers: [] });
  });
});
