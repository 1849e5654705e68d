// Kubernetes Events on the MiniXdr for every create, update, delete and failure: `kubectl describe` tells the story.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { MiniXdr } from "../api/minixdr.ts";
import type { KubeClient } from "../kube/client.ts";
import { fieldManager } from "../render/meta.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  record(cr: MiniXdr, type: EventType, reason: string, message: string): Promise<void>;
}

const eventsRef = { group: "", version: "v1", plural: "events" };

export class KubeEventRecorder implements EventRecorder {
  private readonly client: KubeClient;
  private readonly onError: (err: unknown, event: { key: string; reason: string }) => void;

  constructor(client: KubeClient, onError: (err: unknown, event: { key: string; reason: string }) => void) {
    this.client = client;
    this.onError = onError;
  }

  async record(cr: MiniXdr, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    try {
      await this.client.create(eventsRef, cr.metadata.namespace, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${cr.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString("hex")}`, namespace: cr.metadata.namespace },
        involvedObject: { apiVersion: cr.apiVersion, kind: cr.kind, name: cr.metadata.name, namespace: cr.metadata.namespace, uid: cr.metadata.uid },
        type, reason, message: message.slice(0, 1024),
        source: { component: fieldManager },
        reportingComponent: fieldManager,
        reportingInstance: hostname(),
        firstTimestamp: now, lastTimestamp: now, count: 1,
      });
    } catch (err) {
      // An event that cannot be written must not fail the reconcile that caused it.
      this.onError(err, { key: `${cr.metadata.namespace}/${cr.metadata.name}`, reason });
    }
  }
}
