// The gauges read from the store keep their last values while it is unreachable: a vanished series reads as "no open
// incidents" to an alert, and /readyz already says the database is down.
import { describe, expect, it } from "vitest";
import { event, incident } from "../store/repositoryContract.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { DetectorMetrics } from "./detectorMetrics.ts";

describe("detector metrics read from the store", () => {
  it("keep the last open-incident counts while the store is unreachable", async () => {
    const repository = new SqliteRepository(":memory:");
    await repository.migrate();
    const i = incident("default", { severity: "high" });
    await repository.withSourceLock("default", i.sourceIp, (tx) => tx.insertIncident(i));
    const metrics = new DetectorMetrics(repository, ["default"]);
    const series = /^minixdr_open_incidents\{tenant="default",severity="high"\} 1$/m;
    expect(await metrics.registry.metrics()).toMatch(series);
    await repository.close();
    await expect(repository.openIncidentCounts()).rejects.toThrow();
    expect(await metrics.registry.metrics()).toMatch(series);
  });

  it("export 0 for every configured tenant and severity with nothing open, so an alert on their growth sees a surge from none", async () => {
    const repository = new SqliteRepository(":memory:");
    await repository.migrate();
    const metrics = new DetectorMetrics(repository, ["default", "payments"]);
    const open = async () => (await metrics.registry.getSingleMetric("minixdr_open_incidents")!.get()).values
      .map((v) => `${v.labels.tenant}/${v.labels.severity}=${v.value}`).sort();
    expect(await open()).toEqual(["default/critical=0", "default/high=0", "default/low=0", "default/medium=0", "payments/critical=0", "payments/high=0", "payments/low=0", "payments/medium=0"]);
    const i = incident("payments", { severity: "high" });
    // An incident of a tenant no longer configured is not exported.
    const gone = incident("removed", { severity: "critical" });
    await repository.withSourceLock("payments", i.sourceIp, async (tx) => {
      await tx.insertIncident(i);
      await tx.insertIncident(gone);
    });
    expect(await open()).toContain("payments/high=1");
    expect((await open()).some((s) => s.startsWith("removed/"))).toBe(false);
    // Resolved: back to 0, the series stays.
    await repository.setIncidentStatus("payments", i.id, "resolved", "anna", 1);
    expect(await open()).toContain("payments/high=0");
    await repository.close();
  });
});

describe("detector counters", () => {
  it("count the events detection windows took from memory and from the database", async () => {
    const repository = new SqliteRepository(":memory:");
    await repository.migrate();
    const metrics = new DetectorMetrics(repository, ["default"]);
    const windowEvents = async () => Object.fromEntries((await metrics.registry.getSingleMetric("minixdr_detection_window_events_total")!.get()).values
      .map((v) => [v.labels.from, v.value]));
    expect(await windowEvents()).toEqual({ memory: 0, store: 0 });
    const i = incident("default");
    await repository.insertEvents([event("default", "e1", 1000, i.sourceIp), event("default", "e2", 2000, i.sourceIp)]);
    const window = { tenant: "default", sourceIp: i.sourceIp, from: 0, to: 5000 };
    for (let pass = 0; pass < 2; pass++) await repository.withSourceLock("default", i.sourceIp, (tx) => tx.eventsForSources([window]));
    // Read into the cache once, then taken from it by both passes.
    expect(await windowEvents()).toEqual({ memory: 4, store: 2 });
    await repository.close();
  });

  it("start every series at 0, so rate() counts the first refused request or failed login", async () => {
    const repository = new SqliteRepository(":memory:");
    await repository.migrate();
    const text = await new DetectorMetrics(repository, ["default"]).registry.metrics();
    for (const series of [
      'minixdr_ingest_refused_total{source="cowrie",reason="unauthorized"} 0', 'minixdr_ingest_refused_total{source="k8s-audit",reason="invalid"} 0',
      'minixdr_events_ingested_total{source="suricata",tenant="default"} 0', 'minixdr_logins_total{result="invalid-credentials"} 0',
      'minixdr_detection_skipped_events_total{source="generic"} 0', 'minixdr_secret_reloads_total{result="invalid"} 0',
    ]) expect(text).toContain(series);
    // The lag histogram reaches the lags an alert is about (minutes), not only a minute.
    expect(text).toContain('minixdr_detection_lag_seconds_bucket{le="3600"} 0');
    await repository.close();
  });
});
