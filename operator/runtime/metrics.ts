import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ReconcileOutcome } from "./work-queue.ts";

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, ...). Default true. */
  defaultMetrics?: boolean;
}

const conditionStatuses = ["True", "False", "Unknown"] as const;

/** The operator's Prometheus metrics, on a registry of their own so tests and embedders do not collide. */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<"result">;
  readonly reconcileDuration: Histogram;
  readonly workqueueDepth: Gauge;
  readonly apiRequestsTotal: Counter<"verb" | "resource">;
  readonly leader: Gauge;
  readonly instanceCondition: Gauge<"namespace" | "name" | "type" | "status">;
  private readonly depthSources: { depth: number }[] = [];
  /** Condition types shown per "namespace/name", so a MiniXdr's series can be removed exactly. */
  private readonly conditionTypes = new Map<string, Set<string>>();

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    this.reconcileTotal = new Counter({
      name: "minixdr_reconcile_total", help: "Reconciles by result (success, error, requeue).", labelNames: ["result"], registers,
    });
    for (const result of ["success", "error", "requeue"]) this.reconcileTotal.inc({ result }, 0);
    this.reconcileDuration = new Histogram({
      name: "minixdr_reconcile_duration_seconds", help: "Time one reconcile took.", registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    const sources = this.depthSources;
    this.workqueueDepth = new Gauge({
      name: "minixdr_workqueue_depth", help: "Keys waiting in the work queue.", registers,
      collect() {
        this.set(sources.reduce((sum, q) => sum + q.depth, 0));
      },
    });
    this.apiRequestsTotal = new Counter({
      name: "minixdr_api_requests_total", help: "Requests the operator sent to the Kubernetes API, by verb and resource.",
      labelNames: ["verb", "resource"], registers,
    });
    this.leader = new Gauge({ name: "minixdr_leader", help: "1 while this replica holds the leader lease, else 0.", registers });
    this.leader.set(0);
    this.instanceCondition = new Gauge({
      name: "minixdr_instance_condition",
      help: "Conditions of each MiniXdr this replica reconciles: 1 for the condition's current status, 0 for the others (like kube-state-metrics).",
      labelNames: ["namespace", "name", "type", "status"], registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Fits WorkQueueOptions.onReconciled. */
  readonly reconciled = (_key: string, outcome: ReconcileOutcome, seconds: number): void => {
    this.reconcileTotal.inc({ result: outcome });
    this.reconcileDuration.observe(seconds);
  };

  /** Fits countRequests' callback. */
  readonly apiRequest = (req: { verb: string; resource: string }): void => {
    this.apiRequestsTotal.inc({ verb: req.verb, resource: req.resource });
  };

  /** The depth gauge reads the queue when scraped. */
  trackWorkQueue(queue: { depth: number }): void {
    this.depthSources.push(queue);
  }

  /** Replaces what is shown for one MiniXdr with its current conditions (types it no longer has disappear). */
  setInstanceConditions(namespace: string, name: string, conditions: readonly { type: string; status: string }[]): void {
    this.forgetInstance(namespace, name);
    const types = new Set<string>();
    for (const c of conditions) {
      types.add(c.type);
      for (const status of conditionStatuses) this.instanceCondition.set({ namespace, name, type: c.type, status }, c.status === status ? 1 : 0);
    }
    this.conditionTypes.set(`${namespace}/${name}`, types);
  }

  /** Drops every series of a MiniXdr that is gone. */
  forgetInstance(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    for (const type of this.conditionTypes.get(key) ?? []) {
      for (const status of conditionStatuses) this.instanceCondition.remove({ namespace, name, type, status });
    }
    this.conditionTypes.delete(key);
  }

  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
