// Event retention: stored events received longer ago than the retention period are deleted, in batches, once an
// hour (and a minute after start-up), so the database stops growing. By arrival, not event time: logs replayed from
// last year are kept as long as today's. Only events already detected go (the store keeps queued ones); incidents keep
// their evidence references and counts. The shortest retention is a day, as long as the widest rule window.
import type { Logger } from "pino";
import type { Repository } from "./repository.ts";

export interface EventRetentionOptions {
  repository: Repository;
  retentionDays: number;
  log: Logger;
  now?: () => number;
  /** First run after start (default a minute), then every `intervalMs` (default an hour). */
  initialDelayMs?: number;
  intervalMs?: number;
  /** Events deleted per transaction (default 5000): each batch is a short write, so ingest goes on between them. */
  batch?: number;
  onPruned?(events: number): void;
}

export class EventRetention {
  private readonly options: EventRetentionOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(options: EventRetentionOptions) {
    this.options = options;
  }

  start(): void {
    this.schedule(this.options.initialDelayMs ?? 60_000);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce().finally(() => this.schedule(this.options.intervalMs ?? 3_600_000));
    }, delayMs);
    this.timer.unref();
  }

  /** Deletes every detected event received before the retention period; resolves with how many (when the store fails: logged, and what was deleted by then). */
  runOnce(): Promise<number> {
    return this.running ??= this.prune().finally(() => (this.running = undefined));
  }

  private async prune(): Promise<number> {
    const { repository, log } = this.options;
    const batch = this.options.batch ?? 5000;
    const receivedBefore = (this.options.now ?? Date.now)() - this.options.retentionDays * 86_400_000;
    let total = 0;
    try {
      for (;;) {
        if (this.stopped) break;
        const n = await repository.pruneEvents(receivedBefore, batch);
        total += n;
        if (n > 0) this.options.onPruned?.(n);
        if (n < batch) break;
        // Let requests in between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (total > 0) log.info({ events: total, receivedBefore: new Date(receivedBefore).toISOString(), retentionDays: this.options.retentionDays }, "pruned events past retention");
    } catch (err) {
      log.error({ err, pruned: total }, "pruning events past retention failed; retrying at the next run");
    }
    return total;
  }

  /** Stops scheduling and waits for a running prune (it stops after its current batch). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
