// The gauges read from the store keep their last values while it is unreachable: a vanished series reads as "no open
// incidents" to an alert, and /readyz already says the database is down.
import { describe, expect, it } from "vitest";
import { incident } from "../store/repositoryContract.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { DetectorMetrics } from "./detectorMetrics.ts";

describe("detector metrics read from the store", () => {
  it("keep the last open-incident counts while the store is unreachable", async () => {
    const repository = new SqliteRepository(":memory:");
    await repository.migrate();
    const i = incident("default", { severity: "high" });
    await repository.withSourceLock("default", i.sourceIp, (tx) => tx.insertIncident(i));
    const metrics = new DetectorMetrics(repository);
    const series = /^minixdr_open_incidents\{tenant="default",severity="high"\} 1$/m;
    expect(await metrics.registry.metrics()).toMatch(series);
    await repository.close();
    await expect(repository.openIncidentCounts()).rejects.toThrow();
    expect(await metrics.registry.metrics()).toMatch(series);
  });
});
