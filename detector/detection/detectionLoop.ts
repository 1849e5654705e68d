// Detection off the ingest path. An ingest is acknowledged once its events are stored and queued for detection (one
// transaction); passes over the queue run in the background. A pass starts `lingerMs` after events were queued (or as
// long after as the last pass took, if longer, unless no events came for `lingerMs`), or at once when `passLimit` are
// waiting, and takes everything queued (up to `passLimit`): a busy detector detects in large passes, whose cost per
// source is paid once per pass instead of once per request. The queue is in the store, so a crash between an acknowledgement and its detection loses nothing:
// the next start detects what is still queued.
import type { Logger } from "pino";
import type { SecurityEvent } from "../events/securityEvent.ts";
import type { Repository } from "../store/repository.ts";
import type { DetectionEngine, DetectionOutcome } from "./detectionEngine.ts";

export interface DetectionLoopOptions {
  repository: Repository;
  engine: DetectionEngine;
  log: Logger;
  /** How long queued events may wait for more to join their pass (default 100 ms). */
  lingerMs?: number;
  /** Most events one pass takes (default 20,000). */
  passLimit?: number;
  /** Wait before retrying after a failed pass (default 1 s). */
  retryMs?: number;
  /** How long `detected` waits before giving up (default 30 s). */
  waitTimeoutMs?: number;
  /**
   * How often an idle loop looks at the queue anyway (default 10 s): on a shared store, events another replica
   * queued and did not detect (it died, or was scaled down) are otherwise only picked up with this replica's own next
   * ingest, however long that takes.
   */
  idlePollMs?: number;
  onPass?: (pass: { events: SecurityEvent[]; seconds: number; outcomes: DetectionOutcome[] }) => void;
  onFailure?: (err: Error) => void;
  /** An event taken off the queue undetected because its detection alone kept failing. */
  onSkipped?: (event: SecurityEvent) => void;
}

interface Waiter {
  keys: { tenant: string; id: string }[];
  sources: Set<string>;
  /** What this process's passes over any of the waiter's events raised or updated for its sources, by incident. */
  outcomes: Map<string, DetectionOutcome>;
  resolve: (outcomes: DetectionOutcome[] | undefined) => void;
}

interface RecentPass {
  events: Set<string>;
  outcomes: DetectionOutcome[];
}

const sourceKey = (tenant: string, sourceIp: string) => `${tenant}\u0000${sourceIp}`;
const eventKey = (e: { tenant: string; id: string }) => `${e.tenant}\u0000${e.id}`;
/** Passes remembered for a waiter that registers after the pass that detected its events (a race with the ack). */
const recentPasses = 8;
/** Failures of a pass holding just one event before that event is taken off the queue undetected. */
const poisonAttempts = 3;

export class DetectionLoop {
  private readonly options: Required<Omit<DetectionLoopOptions, "onPass" | "onFailure" | "onSkipped">> & Pick<DetectionLoopOptions, "onPass" | "onFailure" | "onSkipped">;
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  /** Fires `lingerMs` after the last `queued`: ingest went quiet, so a longer linger would gather nothing more. */
  private quietTimer: NodeJS.Timeout | undefined;
  private lastQueuedAt = -Infinity;
  private running: Promise<void> | undefined;
  /** A pass is wanted after the running one (events were queued while it ran). */
  private again = false;
  /** How long the last run of passes took (ms). */
  private lastRunMs = 0;
  private stopped = false;
  /** Events this process queued and no pass here has detected yet (until a pass finds nothing to claim: then 0). */
  private outstandingEvents = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly recent: RecentPass[] = [];
  /** Events per pass now: `passLimit`, halved after each failure, doubled back after each success. */
  private limit: number;
  /** What the last pass claimed (known even when it failed). */
  private lastClaimed: SecurityEvent[] = [];
  /** The event whose pass of one keeps failing, and how often it has. */
  private poison: { key: string; failures: number } | undefined;

  constructor(options: DetectionLoopOptions) {
    this.options = { lingerMs: 100, passLimit: 20_000, retryMs: 1000, waitTimeoutMs: 30_000, idlePollMs: 10_000, ...options };
    this.limit = this.options.passLimit;
  }

  /** Detects whatever is queued in the store (left by a previous run), then waits for `queued`, looking again when idle. */
  start(): void {
    this.schedule(0);
    // Only when nothing is running or due: a pass that finds the queue empty costs one query.
    this.poller ??= setInterval(() => {
      if (!this.running && !this.timer) this.schedule(0);
    }, this.options.idlePollMs).unref();
  }

  /** Events this process queued and has not detected itself yet: what ingest applies back-pressure on. */
  get outstanding(): number {
    return this.outstandingEvents;
  }

  /** Starts a pass now, without lingering (e.g. ingest is refusing batches until detection catches up). */
  catchUp(): void {
    this.schedule(0);
  }

  /** `n` events were just stored and queued. */
  queued(n: number): void {
    if (n <= 0) return;
    this.outstandingEvents += n;
    this.lastQueuedAt = performance.now();
    this.schedule(this.outstandingEvents >= this.options.passLimit ? 0 : this.linger());
    if (this.linger() > this.options.lingerMs) {
      // Restarted by every batch (refresh, not a new timer per request): it fires only once they stop coming.
      if (this.quietTimer) this.quietTimer.refresh();
      else {
        this.quietTimer = setTimeout(() => {
          this.quietTimer = undefined;
          this.schedule(0);
        }, this.options.lingerMs);
      }
    }
  }

  /** No events were queued for `lingerMs`. */
  private quiet(): boolean {
    return performance.now() - this.lastQueuedAt >= this.options.lingerMs;
  }

  /**
   * How long queued events wait for more: `lingerMs`, or as long as the last run of passes took if that was longer.
   * Under sustained load detection then takes about half the time at most, in passes that grow with the load (the
   * cost of a pass is mostly per source, so larger passes cost less per event); idle, a pass follows in `lingerMs`,
   * and when a burst ends the pass starts once `lingerMs` have passed without events, not a whole linger later.
   */
  private linger(): number {
    return Math.max(this.options.lingerMs, this.lastRunMs);
  }

  /**
   * Resolves once none of `events` is queued any more (detected here or by another replica), with the outcomes this
   * process's passes had for their sources in the meantime; undefined if that takes longer than `waitTimeoutMs`.
   */
  detected(events: SecurityEvent[]): Promise<DetectionOutcome[] | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        keys: events.map((e) => ({ tenant: e.tenant, id: e.id })),
        sources: new Set(events.map((e) => sourceKey(e.tenant, e.sourceIp))),
        outcomes: new Map(),
        resolve: (outcomes) => {
          clearTimeout(timeout);
          this.waiters.delete(waiter);
          resolve(outcomes);
        },
      };
      const timeout = setTimeout(() => waiter.resolve(undefined), this.options.waitTimeoutMs);
      for (const pass of this.recent) this.deliver(waiter, pass);
      this.waiters.add(waiter);
      // Someone is waiting: no lingering.
      this.schedule(0);
    });
  }

  /** Stops scheduling passes; finishes the running one and then detects what is queued, for at most `drainMs`. */
  async stop(drainMs = 5000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.quietTimer);
    clearInterval(this.poller);
    this.timer = undefined;
    await this.running;
    const deadline = performance.now() + drainMs;
    try {
      while (performance.now() < deadline && await this.pass()) { /* until the queue is empty or time is up */ }
    } catch (err) {
      this.options.log.warn({ err }, "detection pass at shutdown failed: its events stay queued for the next start");
    }
    for (const w of this.waiters) w.resolve(undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const due = performance.now() + delayMs;
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.running = this.run().finally(() => {
        this.running = undefined;
        // A waiter whose events are still queued (e.g. claimed by another replica's pass): look again shortly.
        if (this.waiters.size > 0) this.schedule(this.again ? 0 : 50);
        else if (this.again) this.schedule(this.quiet() ? 0 : this.linger());
      });
    }, delayMs);
  }

  private async run(): Promise<void> {
    this.again = false;
    const started = performance.now();
    try {
      // Pass after pass while full ones come back; requests are served in between.
      for (;;) {
        const limit = this.limit;
        if (await this.pass() < limit || this.stopped) break;
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      await this.failed(err as Error);
      this.again = true;
    }
    this.lastRunMs = performance.now() - started;
    await this.settleWaiters();
  }

  /**
   * After a failed pass: halve the pass (quickly, so one bad event does not hold up the queue for long) until a pass
   * of one event fails; an event whose pass alone fails `poisonAttempts` times is taken off the queue undetected
   * (it stays stored; logged with its id), so it cannot stop detection of everything behind it.
   */
  private async failed(err: Error): Promise<void> {
    this.options.onFailure?.(err);
    // A failure of the store, not of the events: no smaller passes, and nothing counted towards taking an event off
    // the queue (a database that flaps must not get a healthy event skipped). Retried as it is, below.
    const storeDown = this.options.repository.isUnavailableError(err);
    const one = !storeDown && this.lastClaimed.length === 1 ? this.lastClaimed[0]! : undefined;
    if (!storeDown && this.limit > 1) {
      this.limit = Math.ceil(this.limit / 2);
      this.options.log.error({ err, passLimit: this.limit }, "detection pass failed: its events stay queued; retrying with smaller passes");
      await new Promise((r) => setTimeout(r, Math.min(this.options.retryMs, 50)));
      return;
    }
    this.poison = one && this.poison?.key === eventKey(one) ? { key: this.poison.key, failures: this.poison.failures + 1 } : one ? { key: eventKey(one), failures: 1 } : undefined;
    if (one && this.poison && this.poison.failures >= poisonAttempts) {
      const skipped = await this.options.repository.detectQueued(1, (events) => {
        if (events[0] && eventKey(events[0]) !== eventKey(one)) throw new Error("the queue moved on; not skipping");
        return Promise.resolve([]);
      }).catch(() => undefined);
      if (skipped) {
        this.options.log.error({ err, tenant: one.tenant, eventId: one.id, source: one.source, sourceIp: one.sourceIp },
          `detection of event ${one.id} failed ${poisonAttempts} times on its own: taken off the detection queue undetected (it stays stored)`);
        this.options.onSkipped?.(one);
        this.poison = undefined;
        return;
      }
    }
    this.options.log.error({ err, retryMs: this.options.retryMs }, "detection pass failed: its events stay queued; retrying");
    await new Promise((r) => setTimeout(r, this.options.retryMs));
  }

  /** One pass; the number of events it detected (0 when nothing was queued). */
  private async pass(): Promise<number> {
    const started = performance.now();
    this.lastClaimed = [];
    const pass = await this.options.repository.detectQueued(this.limit, (events, tx) => {
      this.lastClaimed = events;
      return this.options.engine.detectIn(tx, events);
    });
    if (!pass) {
      // Nothing left that this process could claim: what it queued has been detected, or is being detected by another
      // replica (which claimed it from the shared queue), so none of it counts against back-pressure here any more.
      this.outstandingEvents = 0;
      return 0;
    }
    this.outstandingEvents = Math.max(0, this.outstandingEvents - pass.events);
    // Back to full passes, doubling, after failures made them smaller.
    this.limit = Math.min(this.options.passLimit, this.limit * 2);
    this.poison = undefined;
    const detected = this.lastClaimed;
    this.options.onPass?.({ events: detected, seconds: (performance.now() - started) / 1000, outcomes: pass.result });
    const recent = { events: new Set(detected.map(eventKey)), outcomes: pass.result };
    this.recent.push(recent);
    if (this.recent.length > recentPasses) this.recent.shift();
    for (const w of this.waiters) this.deliver(w, recent);
    return pass.events;
  }

  private deliver(w: Waiter, pass: RecentPass): void {
    if (!w.keys.some((k) => pass.events.has(eventKey(k)))) return;
    for (const o of pass.outcomes) {
      if (!w.sources.has(sourceKey(o.incident.tenant, o.incident.sourceIp))) continue;
      w.outcomes.set(o.incident.id, { incident: o.incident, created: o.created || (w.outcomes.get(o.incident.id)?.created ?? false) });
    }
  }

  private async settleWaiters(): Promise<void> {
    for (const w of [...this.waiters]) {
      try {
        if (!await this.options.repository.anyQueued(w.keys)) w.resolve([...w.outcomes.values()]);
      } catch (err) {
        this.options.log.warn({ err }, "could not check whether a batch has been detected; checking again");
      }
    }
  }
}
