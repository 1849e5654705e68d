// A bound on the password checks in flight. Each check is bcrypt at cost 12, about 300 ms of CPU on the password
// thread (passwordHashing.ts), a core the pod shares with ingest and detection. Logging in needs no token, so without a
// bound a flood of logins would queue without end and keep that core busy. Checks beyond the bound are refused at once
// (HTTP 429). The console proxies every login, so the detector sees one client address for all of them: the bound is
// on concurrency, not per address.

export interface LoginGateLimits {
  /** Checks that run at once. */
  running: number;
  /** Checks that wait for a free slot; one more is refused. */
  waiting: number;
}

/** One at a time (there is one password thread), and a queue that drains in about 2.5 s. */
export const defaultLoginGateLimits: LoginGateLimits = { running: 1, waiting: 8 };

export class LoginGate {
  private readonly limits: LoginGateLimits;
  private active = 0;
  /** Waiters in arrival order: each is resumed when a running check finishes. */
  private readonly queue: (() => void)[] = [];

  constructor(limits: LoginGateLimits = defaultLoginGateLimits) {
    if (limits.running < 1 || limits.waiting < 0) throw new Error(`login gate needs running >= 1 and waiting >= 0 (got ${limits.running}, ${limits.waiting})`);
    this.limits = limits;
  }

  /** Runs `check` when a slot is free, or returns `{ admitted: false }` at once (without running it) when the queue is full. */
  async run<T>(check: () => Promise<T>): Promise<{ admitted: true; value: T } | { admitted: false }> {
    if (this.active >= this.limits.running) {
      if (this.queue.length >= this.limits.waiting) return { admitted: false };
      // The finishing check hands its slot over (`active` stays counted), so no newcomer can take it first.
      await new Promise<void>((resume) => this.queue.push(resume));
    } else {
      this.active++;
    }
    try {
      return { admitted: true, value: await check() };
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Checks running and waiting now. */
  get inFlight(): { running: number; waiting: number } {
    return { running: this.active, waiting: this.queue.length };
  }
}
