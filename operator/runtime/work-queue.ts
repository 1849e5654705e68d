export type ReconcileResult = { requeueAfterMs?: number } | void;
export type Reconciler = (key: string) => Promise<ReconcileResult>;
export type ReconcileOutcome = "success" | "error" | "requeue";

export interface WorkQueueOptions {
  /** Reconciles that may run at the same time (different keys). Default 1. */
  concurrency?: number;
  /** First retry delay after a failure. Default 100 ms. */
  baseDelayMs?: number;
  /** Cap of the per-key exponential backoff. Default 60 s. */
  maxDelayMs?: number;
  /** Called after every reconcile, for metrics and logs. */
  onReconciled?: (key: string, outcome: ReconcileOutcome, seconds: number, error?: unknown) => void;
}

/** Delay before the n-th consecutive retry (n >= 1): base * 2^(n-1), capped at max. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  // Past 2^30 the product only matters as "more than max"; avoids Infinity arithmetic.
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * A deduplicating work queue of object keys in the style of client-go's workqueue: a key is queued at
 * most once, never reconciled concurrently with itself, and re-run after its reconcile if it changed meanwhile.
 */
export class WorkQueue {
  private readonly handler: Reconciler;
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly onReconciled: WorkQueueOptions["onReconciled"];
  // A Set keeps insertion order, so it is both the FIFO and the dedup index.
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private stopping = false;
  private drained: (() => void) | undefined;
  private readonly drainedPromise: Promise<void>;

  constructor(handler: Reconciler, opts: WorkQueueOptions = {}) {
    this.handler = handler;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.baseDelayMs = opts.baseDelayMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.onReconciled = opts.onReconciled;
    this.drainedPromise = new Promise((resolve) => (this.drained = resolve));
  }

  /** Keys waiting to run now (not the ones running or waiting for a delay). */
  get depth(): number {
    return this.queued.size;
  }

  /** Keys whose reconcile is running. */
  get inFlight(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.stopping;
  }

  /** Consecutive failures of a key since its last success. */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  add(key: string): void {
    if (this.stopping) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.queued.add(key);
    this.pump();
  }

  /** Adds the key after `ms`; an earlier pending add of the same key wins over a later one. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { due, timer });
  }

  /** Stops taking work, drops queued and delayed keys, and resolves when running reconciles have finished. */
  shutdown(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.queued.clear();
      this.dirty.clear();
      for (const { timer } of this.delayed.values()) clearTimeout(timer);
      this.delayed.clear();
      if (this.processing.size === 0) this.drained?.();
    }
    return this.drainedPromise;
  }

  private pump(): void {
    while (!this.stopping && this.processing.size < this.concurrency && this.queued.size > 0) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    this.processing.add(key);
    // Running now satisfies a pending requeue; the reconcile asks again if it still needs one.
    const pending = this.delayed.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.delayed.delete(key);
    }
    const started = performance.now();
    let outcome: ReconcileOutcome;
    let error: unknown;
    let retryAfter = 0;
    try {
      const result = await this.handler(key);
      this.failures.delete(key);
      if (result && result.requeueAfterMs !== undefined && result.requeueAfterMs >= 0) {
        outcome = "requeue";
        retryAfter = Math.max(result.requeueAfterMs, 1);
      } else {
        outcome = "success";
      }
    } catch (err) {
      outcome = "error";
      error = err;
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      retryAfter = backoffDelay(failures, this.baseDelayMs, this.maxDelayMs);
    }
    this.processing.delete(key);
    try {
      this.onReconciled?.(key, outcome, (performance.now() - started) / 1000, error);
    } catch {
      // A failing observer must not stall the queue.
    }
    if (this.stopping) {
      if (this.processing.size === 0) this.drained?.();
      return;
    }
    if (this.dirty.delete(key)) this.queued.add(key);
    else if (retryAfter > 0) this.addAfter(key, retryAfter);
    this.pump();
  }
}
