import { describe, expect, it, vi } from "vitest";
import { OperatorMetrics } from "./metrics.ts";
import { WorkQueue } from "./work-queue.ts";

describe("OperatorMetrics", () => {
  it("counts reconciles of a work queue by result, times them, and shows its depth when scraped", async () => {
    const metrics = new OperatorMetrics();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let failed = false;
    const q = new WorkQueue(async (key) => {
      if (key === "ns/block") await gate;
      if (key === "ns/fail" && !failed) {
        failed = true;
        throw new Error("boom");
      }
      return key === "ns/later" ? { requeueAfterMs: 60_000 } : undefined;
    }, { baseDelayMs: 5, onReconciled: metrics.reconciled });
    metrics.trackWorkQueue(q);
    q.add("ns/block");
    q.add("ns/a");
    q.add("ns/b");
    expect(await metrics.text()).toMatch(/^minixdr_workqueue_depth 2$/m);
    release();
    q.add("ns/fail");
    q.add("ns/later");
    await vi.waitFor(async () => {
      const text = await metrics.text();
      expect(text).toMatch(/^minixdr_reconcile_total\{result="success"\} 4$/m);
      expect(text).toMatch(/^minixdr_reconcile_total\{result="requeue"\} 1$/m);
      expect(text).toMatch(/^minixdr_reconcile_total\{result="error"\} 1$/m);
    });
    const text = await metrics.text();
    expect(text).toMatch(/^minixdr_reconcile_duration_seconds_count 6$/m);
    expect(text).toMatch(/^minixdr_workqueue_depth 0$/m);
    await q.shutdown();
  });

  it("exposes leadership, zero-valued result series before any reconcile, and process metrics", async () => {
    const metrics = new OperatorMetrics();
    let text = await metrics.text();
    expect(text).toMatch(/^minixdr_leader 0$/m);
    expect(text).toMatch(/^minixdr_reconcile_total\{result="error"\} 0$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    metrics.setLeader(true);
    metrics.apiRequest({ verb: "list", resource: "minixdrs" });
    text = await metrics.text();
    expect(text).toMatch(/^minixdr_leader 1$/m);
    expect(text).toMatch(/^minixdr_api_requests_total\{verb="list",resource="minixdrs"\} 1$/m);
    expect(metrics.contentType).toMatch(/^text\/plain/);
  });

  it("keeps two instances apart", async () => {
    const a = new OperatorMetrics({ defaultMetrics: false });
    const b = new OperatorMetrics({ defaultMetrics: false });
    a.setLeader(true);
    expect(await b.text()).toMatch(/^minixdr_leader 0$/m);
    expect(await b.text()).not.toMatch(/process_cpu/);
  });
});
