// Prometheus metrics, on their own registry per detector (served on the metrics port at /metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { severities } from "../incidents/incident.ts";
import { ingestFormats } from "../ingest/formats.ts";
import type { Repository } from "../store/repository.ts";

export class DetectorMetrics {
  readonly registry = new Registry();
  readonly eventsIngested: Counter<"source" | "tenant">;
  /** Refused requests, not records: a refused batch is refused whole, and most refusals come before its records are read. */
  readonly ingestRefused: Counter<"source" | "reason">;
  readonly detections: Counter<"technique" | "rule">;
  readonly ingestDuration: Histogram<"source">;
  readonly inferenceDuration: Histogram;
  readonly detectionPassDuration: Histogram;
  readonly detectionLag: Histogram;
  readonly detectionPassFailures: Counter;
  readonly inferenceFailures: Counter;
  readonly detectionSkipped: Counter<"source">;
  readonly logins: Counter<"result">;
  readonly eventsPruned: Counter;
  readonly secretReloads: Counter<"result">;
  readonly secretRejected: Gauge;

  /** `tenants`: the configured tenants, each exported with every severity (0 when none is open). */
  constructor(repository: Repository, tenants: readonly string[] = []) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "minixdr_detector_" });
    this.eventsIngested = new Counter({ name: "minixdr_events_ingested_total", help: "Events stored, by ingest source and tenant", labelNames: ["source", "tenant"], registers });
    this.ingestRefused = new Counter({
      name: "minixdr_ingest_refused_total",
      help: "Ingest requests refused, by source and reason (invalid, unauthorized, too_large, detection_behind, busy); nothing of a refused batch is stored",
      labelNames: ["source", "reason"], registers,
    });
    this.detections = new Counter({ name: "minixdr_detections_total", help: "Rule or model detections, by ATT&CK technique (or anomaly) and rule", labelNames: ["technique", "rule"], registers });
    this.ingestDuration = new Histogram({
      name: "minixdr_ingest_duration_seconds", help: "Time to validate and durably store (and queue for detection) one ingest request", labelNames: ["source"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
    this.inferenceDuration = new Histogram({
      name: "minixdr_inference_duration_seconds", help: "Time of one anomaly model inference", buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1], registers,
    });
    this.detectionPassDuration = new Histogram({
      name: "minixdr_detection_pass_duration_seconds", help: "Time of one detection pass over queued events",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
    this.detectionLag = new Histogram({
      name: "minixdr_detection_lag_seconds", help: "Per detection pass: time from receiving its oldest event to the pass's commit",
      // Up to an hour: MiniXdrDetectionBehind is about lags of minutes, which a last bucket of 60 s could not show.
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600], registers,
    });
    this.detectionSkipped = new Counter({
      name: "minixdr_detection_skipped_events_total", help: "Events taken off the detection queue undetected because their detection alone kept failing (they stay stored)",
      labelNames: ["source"], registers,
    });
    this.eventsPruned = new Counter({ name: "minixdr_events_pruned_total", help: "Stored events deleted past the retention period (storage.eventRetentionDays)", registers });
    this.logins = new Counter({
      name: "minixdr_logins_total", help: "API logins, by result (success, invalid-credentials, locked, busy: refused while too many were being checked)",
      labelNames: ["result"], registers,
    });
    this.secretReloads = new Counter({
      name: "minixdr_secret_reloads_total", help: "Changes of the mounted Secret, by result (applied; invalid: the new values were refused and the earlier ones stay; failed)",
      labelNames: ["result"], registers,
    });
    this.secretRejected = new Gauge({
      name: "minixdr_secret_rejected", help: "1 while the mounted Secret holds values the detector refused (it goes on with the earlier ones), else 0", registers,
    });
    this.inferenceFailures = new Counter({ name: "minixdr_inference_failures_total", help: "Model runs that failed (those passes detected with the rules alone)", registers });
    this.detectionPassFailures = new Counter({ name: "minixdr_detection_pass_failures_total", help: "Detection passes that failed (their events stay queued and are retried)", registers });
    // Every series the counters can have starts at 0: rate() and increase() miss a series' first increment (it has no
    // earlier sample), so the first refused request or failed login would otherwise go uncounted by the alerts.
    const sources = [...new Set(Object.values(ingestFormats).map((f) => f.source))];
    for (const source of sources) {
      for (const reason of ["invalid", "unauthorized", "too_large", "detection_behind", "busy"]) this.ingestRefused.inc({ source, reason }, 0);
      for (const tenant of tenants) this.eventsIngested.inc({ source, tenant }, 0);
      this.detectionSkipped.inc({ source }, 0);
    }
    for (const result of ["success", "invalid-credentials", "locked", "busy"]) this.logins.inc({ result }, 0);
    for (const result of ["applied", "invalid", "failed"]) this.secretReloads.inc({ result }, 0);
    new Counter({
      name: "minixdr_detection_window_events_total",
      help: "Events taken into detection windows, by where they came from (memory: the event cache; store: read back from the database). "
        + "On SQLite, store growing with the ingest rate means the rules' windows outgrow the cache sized from the memory limit",
      labelNames: ["from"], registers,
      collect() {
        const read = repository.windowEventsRead();
        this.reset();
        this.inc({ from: "memory" }, read.memory);
        this.inc({ from: "store" }, read.store);
      },
    });
    new Gauge({
      name: "minixdr_detection_queue_events", help: "Stored events waiting for detection (read from the shared store, so the same on every replica)", registers,
      async collect() {
        try {
          this.set(await repository.countQueued());
        } catch {
          // Database unreachable: /readyz says so.
        }
      },
    });
    new Gauge({
      name: "minixdr_open_incidents", help: "Incidents not resolved, by tenant and severity (read from the shared store)", labelNames: ["tenant", "severity"], registers,
      async collect() {
        // Read before resetting: with the database unreachable the last counts stay (as the queue gauge's do), rather
        // than every series vanishing, which an alert on them would read as "no open incidents".
        let counts;
        try {
          counts = await repository.openIncidentCounts();
        } catch {
          return; // /readyz says the database is unreachable; the other metrics are still worth serving.
        }
        this.reset();
        // Every configured tenant and severity, 0 included: a series that appears only with its first open incident
        // has no earlier value, so delta() over it reads 0 and a surge from none went unnoticed. A tenant no longer
        // configured is not exported (nobody can reach its incidents).
        for (const tenant of tenants) for (const severity of severities) this.set({ tenant, severity }, 0);
        for (const c of counts) if (tenants.includes(c.tenant)) this.set({ tenant: c.tenant, severity: c.severity }, c.count);
      },
    });
  }
}
