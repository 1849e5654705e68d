// Kubernetes Events on the MiniXdr for every create, update, delete and failure: `kubectl describe` tells the story.
// As client-go's event correlator does, a repeat of the same event (same object, type, reason and message) within
// a window updates the Event already written (count, lastTimestamp) instead of piling up a new one per retry.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { MiniXdr } from "../api/minixdr.ts";
import { isNotFound, resourcePath, type KubeClient } from "../kube/client.ts";
import { fieldManager } from "../render/meta.ts";
import { truncateMessage } from "./conditions.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  record(cr: MiniXdr, type: EventType, reason: string, message: string): Promise<void>;
}

const eventsRef = { group: "", version: "v1", plural: "events" };
/** Longest Event message written (events.k8s.io/v1 bounds its note to 1 kB; core/v1 readers expect short ones). */
export const maxEventMessageLength = 1024;
/** A repeat within this long of the last occurrence counts on the same Event (client-go aggregates over 10 minutes). */
export const eventCorrelationWindowMs = 10 * 60_000;
/** Events remembered for counting; the least recently seen is forgotten first (client-go keeps 4096). */
const maxRemembered = 4096;

interface Seen {
  namespace: string;
  name: string;
  count: number;
  /** Date.now() of the last occurrence written. */
  lastSeenMs: number;
}

export class KubeEventRecorder implements EventRecorder {
  private readonly client: KubeClient;
  private readonly onError: (err: unknown, event: { key: string; reason: string }) => void;
  private readonly clock: () => number;
  private readonly seen = new Map<string, Seen>();
  /** Writes per correlation key, one after the other, so two repeats in flight never race to create or count. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(client: KubeClient, onError: (err: unknown, event: { key: string; reason: string }) => void, clock: () => number = Date.now) {
    this.client = client;
    this.onError = onError;
    this.clock = clock;
  }

  record(cr: MiniXdr, type: EventType, reason: string, message: string): Promise<void> {
    const text = truncateMessage(message, maxEventMessageLength);
    const key = JSON.stringify([cr.metadata.namespace, cr.metadata.name, cr.metadata.uid ?? "", type, reason, text]);
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.write(cr, key, type, reason, text));
    this.inFlight.set(key, next);
    void next.finally(() => {
      if (this.inFlight.get(key) === next) this.inFlight.delete(key);
    });
    return next;
  }

  private async write(cr: MiniXdr, key: string, type: EventType, reason: string, message: string): Promise<void> {
    const nowMs = this.clock();
    const now = new Date(nowMs).toISOString().replace(/\.\d+Z$/, "Z");
    try {
      const last = this.seen.get(key);
      if (last && nowMs - last.lastSeenMs <= eventCorrelationWindowMs) {
        try {
          await this.client.call("patch", eventsRef.plural, "PATCH", resourcePath(eventsRef, last.namespace, last.name),
            { body: { count: last.count + 1, lastTimestamp: now }, contentType: "application/merge-patch+json" });
          this.remember(key, { ...last, count: last.count + 1, lastSeenMs: nowMs });
          return;
        } catch (err) {
          // Expired (Events live an hour) or deleted: a new one is written below.
          if (!isNotFound(err)) throw err;
        }
      }
      const name = `${cr.metadata.name}.${nowMs.toString(16)}${randomBytes(3).toString("hex")}`;
      await this.client.create(eventsRef, cr.metadata.namespace, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace: cr.metadata.namespace },
        involvedObject: { apiVersion: cr.apiVersion, kind: cr.kind, name: cr.metadata.name, namespace: cr.metadata.namespace, uid: cr.metadata.uid },
        type, reason, message,
        source: { component: fieldManager },
        reportingComponent: fieldManager,
        reportingInstance: hostname(),
        firstTimestamp: now, lastTimestamp: now, count: 1,
      });
      this.remember(key, { namespace: cr.metadata.namespace, name, count: 1, lastSeenMs: nowMs });
    } catch (err) {
      // An event that cannot be written must not fail the reconcile that caused it.
      this.onError(err, { key: `${cr.metadata.namespace}/${cr.metadata.name}`, reason });
    }
  }

  private remember(key: string, seen: Seen): void {
    // Re-inserted at the end: the Map's order is least recently seen first.
    this.seen.delete(key);
    this.seen.set(key, seen);
    while (this.seen.size > maxRemembered) this.seen.delete(this.seen.keys().next().value!);
  }
}
