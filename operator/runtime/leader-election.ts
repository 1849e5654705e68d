import { setTimeout as sleep } from "node:timers/promises";
import { pino, type Logger } from "pino";
import { KubeApiError, type KubeClient } from "../kube/client.ts";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** Unique per candidate, e.g. the pod name. */
  identity: string;
  /** How long a lease holds without renewal. Whole seconds on the wire. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down. Must be below the lease duration. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes ("" when nobody holds the lease). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof KubeApiError && err.status === code;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  [field: string]: unknown;
}

/** A coordination.k8s.io/v1 Lease as JSON; fields this code does not know are sent back as they came. */
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [field: string]: unknown };
  spec?: LeaseSpec;
  [field: string]: unknown;
}

const leases = { group: "coordination.k8s.io", version: "v1", plural: "leases" };

/** A MicroTime as the API server writes it: RFC 3339 with microseconds. */
function microTime(): string {
  return new Date().toISOString().replace("Z", "000Z");
}

/**
 * Lease-based leader election (coordination.k8s.io/v1) following client-go's algorithm: a candidate takes
 * a lease that is free, released or not renewed for its duration, and the holder renews it every retry period.
 * Expiry is judged from when this process last saw the lease change, not from the timestamps in it, so
 * clock skew between candidates does not matter.
 */
export class LeaderElector {
  private readonly client: KubeClient;
  private readonly opts: Required<Omit<LeaderElectionOptions, "onStartedLeading" | "onStoppedLeading" | "onNewLeader" | "logger">>;
  private readonly callbacks: Pick<LeaderElectionOptions, "onStartedLeading" | "onStoppedLeading" | "onNewLeader">;
  private readonly log: Logger;
  private readonly stopController = new AbortController();
  private leading = false;
  /** When the Lease was last acquired or renewed (Date.now()). */
  private lastRenew = 0;
  private holder = "";
  private observedRv = "";
  private observedAt = 0;
  private running: Promise<void> | undefined;

  constructor(client: KubeClient, opts: LeaderElectionOptions) {
    this.client = client;
    this.opts = {
      namespace: opts.namespace,
      name: opts.name,
      identity: opts.identity,
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
    };
    if (!opts.identity) throw new Error("leader election needs a non-empty identity");
    if (this.opts.renewDeadlineMs >= this.opts.leaseDurationMs) throw new Error("renewDeadlineMs must be shorter than leaseDurationMs");
    this.callbacks = { onStartedLeading: opts.onStartedLeading, onStoppedLeading: opts.onStoppedLeading, onNewLeader: opts.onNewLeader };
    this.log = (opts.logger ?? pino({ level: "silent" })).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  /**
   * Whether this replica may act as leader right now: it leads and renewed the Lease within the renew deadline. Read at
   * every write, it turns false the moment the deadline passes, even before the election loop has noticed and stepped
   * down (a process that was stopped, or starved, resumes with its timers due and its Lease lost).
   */
  holdsLease(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.opts.renewDeadlineMs;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder this candidate last saw ("" when free). */
  get leader(): string {
    return this.holder;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops campaigning and renewing without touching the lease (it expires on its own). */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
    this.setLeading(false);
  }

  /**
   * Stops, and if the Lease is this candidate's, empties the holder so another candidate takes over at once. Checked on
   * the Lease, not on `leading`: a stop that lands just after an acquisition, before it was reported, still holds it.
   */
  async release(): Promise<void> {
    this.stopController.abort();
    await this.running;
    try {
      const { namespace, name } = this.opts;
      const lease = await this.client.get<Lease>(leases, namespace, name);
      if (lease.spec?.holderIdentity === this.opts.identity) {
        lease.spec.holderIdentity = "";
        // client-go also shortens the duration so candidates that judge by time do not wait either.
        lease.spec.leaseDurationSeconds = 1;
        lease.spec.renewTime = microTime();
        await this.client.update(leases, namespace, name, lease);
      }
    } catch (err) {
      this.log.warn({ err }, "could not release the lease; it will expire");
    } finally {
      this.setLeading(false);
    }
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async pause(ms: number): Promise<boolean> {
    try {
      // Jitter keeps candidates that started together from colliding on every attempt.
      await sleep(ms * (1 + Math.random() * 0.2), undefined, { signal: this.stopController.signal });
      return true;
    } catch {
      return false;
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.leading && Date.now() - this.lastRenew >= this.opts.renewDeadlineMs) {
        // Past the deadline already (the process was paused): no renewal can make up for that time.
        this.log.error({ renewDeadlineMs: this.opts.renewDeadlineMs }, "could not renew the lease in time; stepping down");
        this.setLeading(false);
      }
      const remaining = this.leading ? this.opts.renewDeadlineMs - (Date.now() - this.lastRenew) : this.opts.retryPeriodMs * 2;
      let ok = false;
      try {
        ok = await this.withTimeout((signal) => this.tryAcquireOrRenew(signal), Math.max(remaining, 1));
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err }, this.leading ? "lease renewal failed" : "lease acquisition failed");
      }
      if (this.stopped) return;
      if (ok) {
        this.lastRenew = Date.now();
        this.setLeading(true);
      } else if (this.leading && Date.now() - this.lastRenew >= this.opts.renewDeadlineMs) {
        this.log.error({ renewDeadlineMs: this.opts.renewDeadlineMs }, "could not renew the lease in time; stepping down");
        this.setLeading(false);
      }
      if (!(await this.pause(this.opts.retryPeriodMs))) return;
    }
  }

  /**
   * The attempt, given up after `ms` or on stop: its request is then aborted too. Left running, against a hung API
   * server every retry left one more request and connection open (until their 30 s idle timeout).
   */
  private withTimeout<T>(attempt: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
    const controller = new AbortController();
    const abort = () => controller.abort(new Error(`lease request took longer than ${ms} ms`));
    const timer = setTimeout(abort, ms);
    const stop = () => controller.abort(new Error("leader election stopped"));
    this.stopController.signal.addEventListener("abort", stop, { once: true });
    return attempt(controller.signal).finally(() => {
      clearTimeout(timer);
      this.stopController.signal.removeEventListener("abort", stop);
    });
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.log.info(leading ? "started leading" : "stopped leading");
    try {
      if (leading) this.callbacks.onStartedLeading?.();
      else this.callbacks.onStoppedLeading?.();
    } catch (err) {
      this.log.error({ err }, "leader election callback threw");
    }
  }

  private observe(lease: Lease): void {
    const rv = lease.metadata?.resourceVersion ?? "";
    if (rv !== this.observedRv) {
      this.observedRv = rv;
      this.observedAt = Date.now();
    }
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== this.holder) {
      this.holder = holder;
      try {
        this.callbacks.onNewLeader?.(holder);
      } catch (err) {
        this.log.error({ err }, "onNewLeader threw");
      }
    }
  }

  /** One attempt; true when this candidate holds the lease afterwards. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = microTime();
    const leaseDurationSeconds = Math.max(1, Math.ceil(this.opts.leaseDurationMs / 1000));
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(leases, namespace, name, { signal });
    } catch (err) {
      if (!isApiError(err, 404)) throw err;
      try {
        const created = await this.client.create<Lease>(leases, namespace, {
          apiVersion: "coordination.k8s.io/v1", kind: "Lease",
          metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        }, { signal });
        this.observe(created);
        return true;
      } catch (createErr) {
        if (isApiError(createErr, 409)) return false;
        throw createErr;
      }
    }
    this.observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== identity;
    // Judged by this process's clock only: the lease must have stood still for a whole duration.
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (heldByOther && Date.now() - this.observedAt < duration) return false;

    const next: LeaseSpec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: now,
    };
    if (holder !== identity) {
      next.acquireTime = now;
      next.leaseTransitions = (spec.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await this.client.update<Lease>(leases, namespace, name, { ...lease, spec: next }, { signal });
      this.observe(updated);
      return true;
    } catch (err) {
      if (isApiError(err, 409)) return false;
      throw err;
    }
  }
}
