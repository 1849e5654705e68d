// Informers on MiniXdr and every owned kind feed one work queue; child events map to their owner's key.
import type { Logger } from "pino";
import { apiVersion, kind as miniXdrKind, plural, type MiniXdr } from "../api/minixdr.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { apiVersionOf, childKinds, type ChildKind } from "../render/child-kinds.ts";
import { fieldManager } from "../render/meta.ts";
import { Informer, type KubernetesObject, type SyncStatus } from "../runtime/informer.ts";
import { WorkQueue, type ReconcileOutcome } from "../runtime/work-queue.ts";
import type { ClusterState, MiniXdrReconciler } from "./reconciler.ts";

export interface ControllerOptions {
  /** Lists and watches go through it. */
  client: KubeClient;
  reconciler: (state: ClusterState) => MiniXdrReconciler;
  log: Logger;
  /** Empty: every namespace. */
  watchNamespace?: string;
  concurrency?: number;
  resyncMs?: number;
  onReconciled?: (key: string, outcome: ReconcileOutcome, seconds: number, error?: unknown) => void;
}

/**
 * The reconciler reads managedFields only on Deployments (the HPA handover) and PersistentVolumeClaims (whether it set
 * the storage class); elsewhere they are memory for nothing.
 */
function dropManagedFields<O extends KubernetesObject>(obj: O): O {
  if (obj.metadata) delete obj.metadata.managedFields;
  return obj;
}

export const managedBySelector = `app.kubernetes.io/managed-by=${fieldManager}`;

/** The controller ownerReference pointing at a MiniXdr, as `namespace/name`. */
export function ownerKey(obj: KubeObject): string | undefined {
  const ref = obj.metadata?.ownerReferences?.find((o) => o.controller && o.kind === miniXdrKind && o.apiVersion.startsWith("xdr.minixdr.io/"));
  return ref && obj.metadata?.namespace ? `${obj.metadata.namespace}/${ref.name}` : undefined;
}

export class MiniXdrController implements ClusterState {
  readonly queue: WorkQueue;
  private readonly miniXdrs: Informer<MiniXdr & KubernetesObject>;
  private readonly children = new Map<string, { kind: ChildKind; informer: Informer<KubeObject> }>();
  private readonly log: Logger;
  private availabilityTimer: NodeJS.Timeout | undefined;
  private lastAvailability = "";

  constructor(opts: ControllerOptions) {
    this.log = opts.log;
    const informerOpts = { namespace: opts.watchNamespace ?? "", resyncMs: opts.resyncMs ?? 10 * 60_000, logger: opts.log, transform: dropManagedFields };
    const reconciler = opts.reconciler(this);
    this.queue = new WorkQueue((key) => reconciler.reconcile(key), {
      concurrency: opts.concurrency ?? 4,
      baseDelayMs: 500,
      maxDelayMs: 5 * 60_000,
      onReconciled: (key, outcome, seconds, error) => {
        // Every failure is logged with its object, whatever failed (an apply, a status write, a read).
        if (outcome === "error") this.log.error({ err: error, key, failures: this.queue.failureCount(key) }, "reconcile failed; retrying with backoff");
        opts.onReconciled?.(key, outcome, seconds, error);
      },
    });
    this.miniXdrs = new Informer(opts.client, { apiVersion, kind: miniXdrKind, plural }, informerOpts);
    const enqueue = (o: KubernetesObject) => this.queue.add(`${o.metadata?.namespace}/${o.metadata?.name}`);
    this.miniXdrs.addHandlers({ onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue, onResync: enqueue });
    for (const k of childKinds) {
      const informer = new Informer<KubeObject>(opts.client, { apiVersion: apiVersionOf(k), kind: k.kind, plural: k.plural },
        { ...informerOpts, resyncMs: 0, labelSelector: managedBySelector, unavailableRetryMs: 10_000, ...(k.kind === "Deployment" || k.kind === "PersistentVolumeClaim" ? { transform: undefined } : {}) });
      const toOwner = (o: KubeObject) => {
        const key = ownerKey(o);
        if (key) this.queue.add(key);
      };
      informer.addHandlers({ onAdd: toOwner, onUpdate: toOwner, onDelete: toOwner });
      this.children.set(k.kind, { kind: k, informer });
    }
  }

  /** Every informer, with optional APIs (the ExternalSecret CRD) marked so their absence never blocks readiness. */
  get watched(): { informer: SyncStatus; optional: boolean }[] {
    return [{ informer: this.miniXdrs, optional: false }, ...[...this.children.values()].map((c) => ({ informer: c.informer, optional: c.kind.optional ?? false }))];
  }

  /**
   * The child caches sync before the MiniXdr informer starts: its first list queues every instance at once, and a pass
   * that read a child cache still being listed reported existing children missing (a restart flapped every Ready
   * instance to Ready=False "Deployment ... does not exist yet" and back, moving lastTransitionTime twice).
   */
  async start(): Promise<void> {
    for (const c of this.children.values()) c.informer.start();
    await Promise.all([...this.children.values()].map((c) => c.informer.waitForSync({ allowUnavailable: true })));
    this.miniXdrs.start();
    await this.miniXdrs.waitForSync();
    this.lastAvailability = this.availabilitySignature();
    // When an optional API (the ExternalSecret CRD) appears or goes, every instance may need another pass.
    this.availabilityTimer = setInterval(() => {
      const now = this.availabilitySignature();
      if (now === this.lastAvailability) return;
      this.lastAvailability = now;
      this.log.info({ availability: now }, "served child APIs changed; reconciling every MiniXdr");
      for (const cr of this.miniXdrs.list()) this.queue.add(`${cr.metadata.namespace}/${cr.metadata.name}`);
    }, 2_000);
    this.availabilityTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.availabilityTimer) clearInterval(this.availabilityTimer);
    await this.queue.shutdown();
    await Promise.all([this.miniXdrs.stop(), ...[...this.children.values()].map((c) => c.informer.stop())]);
  }

  private availabilitySignature(): string {
    // The versions served instead count too: an external-secrets upgraded from v1alpha1 to v1beta1 changes the message.
    return [...this.children.values()].map((c) => `${c.kind.kind}=${c.informer.available}${c.informer.otherServedVersions.map((v) => `/${v}`).join("")}`).join(",");
  }

  miniXdr(namespace: string, name: string): MiniXdr | undefined {
    return this.miniXdrs.get(namespace, name);
  }

  child(k: ChildKind, namespace: string, name: string): KubeObject | undefined {
    return this.children.get(k.kind)?.informer.get(namespace, name);
  }

  ownedChildren(cr: MiniXdr): { kind: ChildKind; object: KubeObject }[] {
    const out: { kind: ChildKind; object: KubeObject }[] = [];
    for (const { kind, informer } of this.children.values()) {
      for (const o of informer.list()) {
        if (o.metadata?.namespace === cr.metadata.namespace && o.metadata.ownerReferences?.some((r) => r.controller && r.uid === cr.metadata.uid)) {
          out.push({ kind, object: o });
        }
      }
    }
    return out;
  }

  kindAvailable(k: ChildKind): boolean {
    return this.children.get(k.kind)?.informer.available !== false;
  }

  kindForbidden(k: ChildKind): boolean {
    return this.children.get(k.kind)?.informer.forbidden === true;
  }

  kindOtherServedVersions(k: ChildKind): string[] {
    return this.children.get(k.kind)?.informer.otherServedVersions ?? [];
  }
}
