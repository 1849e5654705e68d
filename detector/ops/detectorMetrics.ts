// Prometheus metrics, on their own registry per detector (served on the metrics port at /metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Repository } from "../store/repository.ts";

export class DetectorMetrics {
  readonly registry = new Registry();
  readonly eventsIngested: Counter<"source" | "tenant">;
  readonly eventsRejected: Counter<"source" | "reason">;
  readonly detections: Counter<"technique" | "rule">;
  readonly ingestDuration: Histogram<"source">;
  readonly inferenceDuration: Histogram;

  constructor(repository: Repository) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "minixdr_detector_" });
    this.eventsIngested = new Counter({ name: "minixdr_events_ingested_total", help: "Events stored, by ingest source and tenant", labelNames: ["source", "tenant"], registers });
    this.eventsRejected = new Counter({
      name: "minixdr_events_rejected_total", help: "Records refused at ingest, by source and reason (invalid, unauthorized, too_large)", labelNames: ["source", "reason"], registers,
    });
    this.detections = new Counter({ name: "minixdr_detections_total", help: "Rule or model detections, by ATT&CK technique (or anomaly) and rule", labelNames: ["technique", "rule"], registers });
    this.ingestDuration = new Histogram({
      name: "minixdr_ingest_duration_seconds", help: "Time to validate, store and run detection on one ingest request", labelNames: ["source"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
    this.inferenceDuration = new Histogram({
      name: "minixdr_inference_duration_seconds", help: "Time of one anomaly model inference", buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1], registers,
    });
    new Gauge({
      name: "minixdr_open_incidents", help: "Incidents not resolved, by tenant and severity (read from the shared store)", labelNames: ["tenant", "severity"], registers,
      async collect() {
        this.reset();
        try {
          for (const c of await repository.openIncidentCounts()) this.set({ tenant: c.tenant, severity: c.severity }, c.count);
        } catch {
          // Database unreachable: /readyz says so; the other metrics are still worth serving.
        }
      },
    });
  }
}
