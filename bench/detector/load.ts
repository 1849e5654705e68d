// A bounded closed-loop load generator on loopback: `concurrency` workers each send one request, wait for the
// answer, send the next; it stops by itself after `maxRequests` or `durationMs`, whichever comes first.
import { Agent, request } from "node:http";

export interface LoadResult {
  requests: number;
  events: number;
  errors: number;
  firstError?: string;
  seconds: number;
  /** Of `seconds`: from the last answer until `settled` resolved (the detector's queue drained). */
  settleSeconds: number;
  latenciesMs: number[];
  eventsPerSecond: number;
}

function post(agent: Agent, url: URL, token: string, payload: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), authorization: `Bearer ${token}` }, timeout: 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * `settled`, when given, is awaited after the last answer and its time counts: throughput is events per second until
 * the server has finished with them (for the detector: stored, and detected by its background passes).
 */
export async function runLoad(opts: { url: string; token: string; concurrency: number; batch: number; maxRequests: number; durationMs: number; makeBody: () => string; settled?: () => Promise<void> }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const url = new URL(opts.url);
  const latenciesMs: number[] = [];
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  await Promise.all(Array.from({ length: opts.concurrency }, async () => {
    while (started < opts.maxRequests && performance.now() < deadline) {
      started++;
      const payload = opts.makeBody();
      const s = performance.now();
      try {
        const res = await post(agent, url, opts.token, payload);
        if (res.status !== 200) {
          errors++;
          firstError ??= `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
        } else latenciesMs.push(performance.now() - s);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  }));
  const answered = performance.now();
  await opts.settled?.();
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  const events = latenciesMs.length * opts.batch;
  return { requests: started, events, errors, ...(firstError ? { firstError } : {}), seconds, settleSeconds: (performance.now() - answered) / 1000, latenciesMs, eventsPerSecond: events / seconds };
}
