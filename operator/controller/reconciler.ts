// reconcile(key): read the world from the caches, make the children match the MiniXdr, report in status.
// Level-triggered: it never depends on which event woke it.
import type { Logger } from "pino";
import { apiVersion, group, kind, pausedAnnotation, plural, version, withDefaults, type MiniXdr, type MiniXdrSpec, type MiniXdrStatus } from "../api/minixdr.ts";
import { isConflict, isNotFound, KubeApiError, type KubeClient, type KubeObject } from "../kube/client.ts";
import { childKindOf, type ChildKind } from "../render/child-kinds.ts";
import { childLabels, fieldManager, names, type ChildObject } from "../render/meta.ts";
import { enabledComponents, render, type DesiredChild, type RenderOptions } from "../render/render.ts";
import { generatedSecretData } from "./generated-secret.ts";
import { detectorEndpoint } from "../render/services.ts";
import { appliedHashPath, withAppliedHash } from "./applied-hash.ts";
import { driftedFields } from "./drift.ts";
import { appliesStorageClass, claimClassName, followLiveClaim, growsBoundClaim, type ClaimExpansion, type FollowedClaim } from "./claim.ts";
import { renumberedPortsPatch } from "./port-conflicts.ts";
import { maxConditionMessageLength, truncateMessage } from "./conditions.ts";
import type { EventRecorder, EventType } from "./events.ts";
import { canonicalJson, computeStatus, stableErrorMessage, type Observation } from "./status.ts";

/** What the reconciler reads: informer caches in production, the same in tests (against a real API server). */
export interface ClusterState {
  miniXdr(namespace: string, name: string): MiniXdr | undefined;
  child(kind: ChildKind, namespace: string, name: string): KubeObject | undefined;
  /** Children of any kind whose controller ownerReference is this MiniXdr. */
  ownedChildren(cr: MiniXdr): { kind: ChildKind; object: KubeObject }[];
  /** False when the kind's API is not served (e.g. the ExternalSecret CRD is not installed) or may not be listed. */
  kindAvailable(kind: ChildKind): boolean;
  /** Unavailable because the API server refused to list it (403: RBAC), not because it is not served. */
  kindForbidden(kind: ChildKind): boolean;
  /** Not served at the version the operator writes, but at these (an older release of the CRD's project): else []. */
  kindOtherServedVersions(kind: ChildKind): string[];
}

export interface ReconcilerDeps {
  client: KubeClient;
  state: ClusterState;
  events: EventRecorder;
  log: Logger;
  /** How children are rendered where the cluster decides (the pods' user ids); the defaults otherwise. */
  renderOptions?: RenderOptions;
  now?: () => string;
  /** Sees every computed status (undefined once the MiniXdr is gone), e.g. for per-instance metrics. */
  onStatus?: (namespace: string, name: string, status: MiniXdrStatus | undefined) => void;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

const miniXdrRef = { group, version, plural };
const storageClassRef = { group: "storage.k8s.io", version: "v1", plural: "storageclasses" };
type RecordEvent = (type: EventType, reason: string, message: string) => void;
const hpaHandoverManager = `${fieldManager}-hpa-handover`;

export class ReconcileError extends Error {}

/** A child of that name is still being deleted (e.g. the garbage collector removing a deleted MiniXdr's): wait for it. */
class ChildBeingDeleted extends Error {}

/** How soon to look again while an old child of the same name is being deleted. */
const deletionWaitMs = 2000;
/** How soon to look again after a status write found the cached MiniXdr behind the API server. */
const staleCacheWaitMs = 1000;

/** The API server refuses new objects in a namespace being deleted: nothing to reconcile there any more. */
function namespaceTerminating(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 403 && /because it is being terminated/.test(err.message);
}

export class MiniXdrReconciler {
  private readonly d: ReconcilerDeps;
  private readonly now: () => string;
  /** Per MiniXdr (namespace/name): the storage changes not applied that its Warning Event already told of, once. */
  private readonly storageReported = new Map<string, { uid: string; message: string }>();

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.now = deps.now ?? (() => new Date().toISOString().replace(/\.\d+Z$/, "Z"));
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const cr = this.d.state.miniXdr(namespace, name);
    // Deleted (or being deleted): ownerReferences let the garbage collector remove every child; no finalizer needed.
    if (!cr || cr.metadata.deletionTimestamp) {
      this.storageReported.delete(key);
      this.d.onStatus?.(namespace, name, undefined);
      return {};
    }
    const log = this.d.log.child({ key, generation: cr.metadata.generation });

    let spec: MiniXdrSpec;
    try {
      spec = withDefaults(cr.spec);
    } catch (err) {
      // The CRD refuses invalid objects at apply time; this catches objects stored before a stricter schema.
      const message = `invalid spec: ${(err as Error).message}`;
      log.error({ err }, "stored spec does not validate: nothing is applied until it is fixed");
      // Recorded once per generation and message: every resync of an unchanged invalid object finds it reported.
      if (!alreadyReported(cr, "InvalidSpec", message)) await this.d.events.record(cr, "Warning", "InvalidSpec", message);
      await this.writeStatus(cr, { paused: false, components: [], applyErrors: [message], invalidSpec: true, missingApis: [], endpoint: cr.status?.endpoint ?? "" }, log);
      return {};
    }
    const paused = spec.paused ? "spec" : cr.metadata.annotations?.[pausedAnnotation] === "true" ? "annotation" : false;
    const desired = render(cr, spec, this.d.renderOptions);
    const applyErrors: string[] = [];
    const missingApis = new Set<string>();
    const forbiddenApis = new Set<string>();
    const otherServedVersions: Record<string, string[]> = {};
    const applied = new Map<string, KubeObject>();
    // Events are written alongside the work, not in its path; the pass still waits for them before it ends.
    const pendingEvents: Promise<void>[] = [];
    const event: RecordEvent = (type, reason, message) => void pendingEvents.push(this.d.events.record(cr, type, reason, message));

    /** Children whose old namesakes are still being deleted: applied on a pass shortly after. */
    const waitingForDeletion: string[] = [];
    /** Changes of the spec that the existing data claim cannot take (its immutable fields). */
    const storageNotes: string[] = [];
    let terminating = false;
    if (!paused) {
      // Children do not depend on each other at apply time (pods wait for their ConfigMap, Secret and
      // ServiceAccount), so they are applied in parallel: one round trip of latency instead of one per child.
      await Promise.all(desired.map(async (child) => {
        const k = childKindOf(child.object.kind);
        if (k.optional && !this.d.state.kindAvailable(k)) {
          (this.d.state.kindForbidden(k) ? forbiddenApis : missingApis).add(k.kind);
          const others = this.d.state.kindOtherServedVersions(k);
          if (others.length > 0) otherServedVersions[k.kind] = others;
          return;
        }
        try {
          const result = await this.ensureChild(cr, k, child, spec, log, event, storageNotes);
          if (result) applied.set(`${k.kind}/${child.object.metadata.name}`, result);
        } catch (err) {
          if (err instanceof ChildBeingDeleted) return void waitingForDeletion.push(err.message);
          if (namespaceTerminating(err)) return void (terminating = true);
          const message = `${child.object.kind} ${child.object.metadata.name}: ${errorMessage(err)}`;
          applyErrors.push(message);
          log.error({ err, child: `${child.object.kind}/${child.object.metadata.name}` }, "apply failed");
          event("Warning", "ApplyFailed", message);
        }
      }));
      if (terminating) {
        // The namespace is going, and the MiniXdr with it: no status, no Events, no error to retry.
        log.info("namespace is being deleted: nothing to reconcile");
        await Promise.all(pendingEvents);
        return {};
      }
      await this.prune(cr, desired, applyErrors, log, event);
      storageNotes.sort();
      this.reportStorageNotes(cr, key, storageNotes, event);
    } else {
      // Nothing is applied while paused, but what the claim cannot take is still so: status keeps saying it.
      const claim = desired.find((d) => d.object.kind === "PersistentVolumeClaim");
      const live = claim && this.d.state.child(childKindOf("PersistentVolumeClaim"), namespace, claim.object.metadata.name);
      if (claim && live?.metadata?.ownerReferences?.some((o) => o.uid === cr.metadata.uid)) storageNotes.push(...(await this.followClaim(claim.object, live, log)).notes.sort());
    }

    const components = enabledComponents(spec).map((component) => {
      const deploymentName = names.component(cr, component);
      const k = childKindOf("Deployment");
      return {
        component,
        deploymentName,
        deployment: applied.get(`Deployment/${deploymentName}`) ?? this.d.state.child(k, namespace, deploymentName),
        image: spec[component].image,
        desiredReplicas: component === "detector" && spec.detector.autoscaling.enabled ? spec.detector.autoscaling.minReplicas : spec[component].replicas,
      };
    });
    const hpaName = names.component(cr, "detector");
    const autoscaler = spec.detector.autoscaling.enabled
      ? applied.get(`HorizontalPodAutoscaler/${hpaName}`) ?? this.d.state.child(childKindOf("HorizontalPodAutoscaler"), namespace, hpaName) : undefined;
    const stale = await this.writeStatus(cr, { paused, components, applyErrors: applyErrors.sort(), missingApis: [...missingApis].sort(), forbiddenApis: [...forbiddenApis].sort(), otherServedVersions, waitingForDeletion: waitingForDeletion.sort(),
      storageNotes, endpoint: detectorEndpoint(cr), ...(autoscaler ? { autoscaler } : {}) }, log, event);
    await Promise.all(pendingEvents);
    if (applyErrors.length > 0) throw new ReconcileError(applyErrors.join("; "));
    // The newer object's event reconciles again; this only makes sure of it.
    if (stale) return { requeueAfterMs: staleCacheWaitMs };
    if (waitingForDeletion.length > 0) {
      log.info({ waiting: waitingForDeletion }, "waiting for children of a deleted namesake to be deleted");
      return { requeueAfterMs: deletionWaitMs };
    }
    return {};
  }

  /** Creates or updates one child; returns the object as the API server now has it, or undefined if untouched. */
  private async ensureChild(cr: MiniXdr, k: ChildKind, child: DesiredChild, spec: MiniXdrSpec, log: Logger, event: RecordEvent, storageNotes: string[]): Promise<KubeObject | undefined> {
    const { namespace, name } = child.object.metadata;
    // The caches hold only objects labelled as ours: one missing there may still exist (someone else's, or ours with
    // the label edited away). Read it before the apply, which would otherwise take it over (and its ownerReference
    // would have it deleted with the MiniXdr). Only when a child is not cached: at creation, not on every pass.
    const live = this.d.state.child(k, namespace, name) ?? await this.uncached(k, namespace, name);
    let adopting = false;
    if (live && !live.metadata?.ownerReferences?.some((o) => o.uid === cr.metadata.uid)) {
      // A MiniXdr deleted and created again under its name: the old one's children are going (the garbage collector
      // removes what an owner that no longer exists owned), not someone else's.
      const earlierNamesake = live.metadata?.ownerReferences?.some((o) => o.controller && o.kind === cr.kind && o.name === cr.metadata.name);
      if (live.metadata?.deletionTimestamp || earlierNamesake) {
        throw new ChildBeingDeleted(`${k.kind} ${name} of an earlier MiniXdr ${cr.metadata.name} is still being deleted`);
      }
      if (!orphanOf(cr, live)) {
        throw new ReconcileError(`exists and is not owned by MiniXdr ${cr.metadata.name}; rename or delete it so the operator can manage it`);
      }
      adopting = true;
    }
    if (child.createOnly) {
      if (adopting && live) {
        // Adopted with its values: only our labels and ownerReference are applied, the data stays as it was.
        const { apiVersion: av, kind: kk, metadata } = child.object;
        const result = await this.d.client.apply(k, namespace, name, { apiVersion: av, kind: kk, metadata });
        event("Normal", "Adopted", `Adopted ${k.kind} ${name}, an orphan of this instance (no owner, its labels), with the values it holds`);
        log.info({ child: `${k.kind}/${name}` }, "adopted");
        return result;
      }
      if (live) return undefined;
      const stringData = generatedSecretData();
      try {
        const created = await this.d.client.create(k, namespace, { ...child.object, stringData });
        event("Normal", "Created", `Created ${k.kind} ${name} with generated credentials (never rotated by the operator)`);
        log.info({ child: `${k.kind}/${name}` }, "created generated secret");
        return created;
      } catch (err) {
        // Our cache was behind: it exists already, and must not be overwritten.
        if (isConflict(err)) return undefined;
        throw err;
      }
    }
    let object = child.object;
    if (k.kind === "PersistentVolumeClaim" && live) {
      const followed = await this.followClaim(object, live, log);
      object = followed.object;
      storageNotes.push(...followed.notes);
    }
    const desired = withAppliedHash(object);
    const drift = live ? driftedFields(desired, live) : [];
    if (live && drift.length === 0) return undefined;
    if (k.kind === "Deployment" && live && spec.detector.autoscaling.enabled && name === names.component(cr, "detector")) {
      await this.handOverReplicas(k, live, log);
    }
    const clearPorts = live && renumberedPortsPatch(desired, live);
    if (clearPorts) {
      await this.d.client.jsonPatch(k, namespace, name, clearPorts);
      log.info({ child: `${k.kind}/${name}`, changed: clearPorts.filter((o) => o.op !== "test").map((o) => `${o.op} ${o.path}`) }, "put back ports renumbered by someone else");
    }
    const result = await this.d.client.apply(k, namespace, name, desired);
    const verb = adopting ? "Adopted" : live ? "Updated" : "Created";
    // Only the hash differs: what changed is a field no longer rendered, which the apply removed.
    const changed = drift.filter((p) => p !== appliedHashPath);
    const what = changed.length > 0 ? changed.slice(0, 5).join(", ") : "removed fields no longer set by the MiniXdr";
    event("Normal", verb, adopting ? `Adopted ${k.kind} ${name}, an orphan of this instance (no owner, its labels)`
      : live ? `Updated ${k.kind} ${name} (${what})` : `Created ${k.kind} ${name}`);
    log.info({ child: `${k.kind}/${name}`, drift: drift.slice(0, 10) }, verb.toLowerCase());
    return result;
  }

  /**
   * One Warning Event when the claim first cannot take a change (or a different one), not one per pass: status says it
   * for as long as it lasts. Already reported: remembered here, or in the Degraded condition written before a restart.
   */
  /** The claim to apply over the live one; a growth of a bound claim is checked against its storage class first. */
  private async followClaim(desired: ChildObject, live: KubeObject, log: Logger): Promise<FollowedClaim> {
    const expansion = growsBoundClaim(desired, live) ? await this.claimExpansion(claimClassName(live), log) : undefined;
    return followLiveClaim(desired, live, appliesStorageClass(live), expansion);
  }

  /** Whether a claim of that class may grow, as the API server's PersistentVolumeClaimResize admission decides. */
  private async claimExpansion(className: string | undefined, log: Logger): Promise<ClaimExpansion | undefined> {
    if (!className) return { allowed: false, className };
    try {
      const sc = await this.d.client.get<KubeObject & { allowVolumeExpansion?: boolean }>(storageClassRef, "", className);
      return { allowed: sc.allowVolumeExpansion === true, className };
    } catch (err) {
      if (isNotFound(err)) return { allowed: false, className, missing: true };
      // Not known (e.g. a ClusterRole from before this rule): the growth is applied, and the API server judges it.
      log.warn({ err, storageClass: className }, "cannot read the claim's storage class; applying the larger size as asked");
      return undefined;
    }
  }

  private reportStorageNotes(cr: MiniXdr, key: string, notes: string[], event: RecordEvent): void {
    if (notes.length === 0) return void this.storageReported.delete(key);
    const message = notes.join("; ");
    const uid = cr.metadata.uid ?? "";
    const remembered = this.storageReported.get(key);
    const degraded = cr.status?.conditions?.find((c) => c.type === "Degraded");
    const inStatus = degraded?.status === "True" && degraded.message.includes(message);
    if (!(remembered?.uid === uid && remembered.message === message) && !inStatus) event("Warning", "StorageChangeNotApplied", message);
    this.storageReported.set(key, { uid, message });
  }

  private async uncached(k: ChildKind, namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.d.client.get<KubeObject>(k, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * When autoscaling turns on, our apply stops setting replicas. A field its only owner drops is reset, so a
   * Deployment at 3 replicas would fall to 1 before the HPA reacts. A second manager first takes the current
   * value over; the HPA's later updates take it from there.
   */
  private async handOverReplicas(k: ChildKind, live: KubeObject, log: Logger): Promise<void> {
    const ours = live.metadata?.managedFields?.find((m) => m.manager === fieldManager && m.operation === "Apply" && !m.subresource);
    const ownsReplicas = Boolean((ours?.fieldsV1?.["f:spec"] as Record<string, unknown> | undefined)?.["f:replicas"]);
    const replicas = (live.spec as { replicas?: number } | undefined)?.replicas;
    if (!ownsReplicas || replicas === undefined) return;
    const { name, namespace } = live.metadata as { name: string; namespace: string };
    await this.d.client.apply(k, namespace, name, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace }, spec: { replicas } }, { manager: hpaHandoverManager });
    log.info({ replicas }, "handed Deployment replicas over for the HorizontalPodAutoscaler");
  }

  /** Deletes children whose feature is off. Objects that hold data are kept (and go with the MiniXdr). */
  private async prune(cr: MiniXdr, desired: DesiredChild[], applyErrors: string[], log: Logger, event: RecordEvent): Promise<void> {
    const wanted = new Set(desired.map((d) => `${d.object.kind}/${d.object.metadata.name}`));
    for (const { kind: k, object } of this.d.state.ownedChildren(cr)) {
      const name = object.metadata?.name ?? "";
      if (wanted.has(`${k.kind}/${name}`) || k.retainOnPrune) continue;
      try {
        await this.d.client.delete(k, cr.metadata.namespace, name, object.metadata?.uid ?? "");
        event("Normal", "Deleted", `Deleted ${k.kind} ${name}: no longer in the spec`);
        log.info({ child: `${k.kind}/${name}` }, "pruned");
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) continue;
        applyErrors.push(`${k.kind} ${name}: delete failed: ${errorMessage(err)}`);
        log.error({ err, child: `${k.kind}/${name}` }, "delete failed");
        event("Warning", "DeleteFailed", `${k.kind} ${name}: ${errorMessage(err)}`);
      }
    }
  }

  /**
   * Writes status when it changed. With `event`, a Degraded condition that turns True, or True for another reason, is
   * also a Warning Event, for the reasons no other Event reports (a failed apply, an invalid spec and a claim that
   * cannot change have their own): a Deployment past its deadline, a missing or forbidden ExternalSecret API, an
   * autoscaler that cannot scale were seen only in the condition.
   */
  /**
   * Writes the status worked out from `cr` as the cache holds it, on condition that the object is still that version
   * (the apply carries its resourceVersion). A cache that is behind (a busy API server, a slow watch) would otherwise
   * have a pass write the conditions back to what they were before the last status write, restarting their
   * lastTransitionTime, and repeat its Degraded Event. A 409 (the apply forces field ownership, so it can only be the
   * version) means the newer object is on its way to the cache; its update event reconciles again. True when stale.
   */
  private async writeStatus(cr: MiniXdr, obs: Observation, log: Logger, event?: RecordEvent): Promise<boolean> {
    const status = computeStatus(cr, obs, this.now);
    this.d.onStatus?.(cr.metadata.namespace, cr.metadata.name, status);
    if (canonicalJson(status) === canonicalJson(cr.status ?? {})) return false;
    try {
      const metadata = { name: cr.metadata.name, namespace: cr.metadata.namespace, ...(cr.metadata.resourceVersion ? { resourceVersion: cr.metadata.resourceVersion } : {}) };
      await this.d.client.apply(miniXdrRef, cr.metadata.namespace, cr.metadata.name, { apiVersion, kind, metadata, status }, { subresource: "status" });
    } catch (err) {
      if (isNotFound(err)) return false;
      if (isConflict(err)) {
        log.debug("the cached MiniXdr is behind the API server: status not written from it");
        return true;
      }
      throw err;
    }
    const before = cr.status?.conditions?.find((c) => c.type === "Degraded");
    const degraded = status.conditions?.find((c) => c.type === "Degraded");
    if (event && degraded?.status === "True" && !reportedElsewhere.has(degraded.reason) && !(before?.status === "True" && before.reason === degraded.reason)) {
      event("Warning", degraded.reason, degraded.message);
    }
    const ready = status.conditions?.find((c) => c.type === "Ready");
    log.info({ ready: ready?.status, reason: ready?.reason }, "status updated");
    return false;
  }
}

/** Degraded reasons whose Events are written where they happen (an apply, a spec check, the claim's notes). */
const reportedElsewhere = new Set(["ApplyFailed", "InvalidSpec", "StorageChangeNotApplied"]);

/**
 * An object left by an earlier MiniXdr of this name deleted with `--cascade=orphan`: no controller owner, and our labels
 * for this instance. Adopted as the Deployment controller adopts orphaned ReplicaSets; anything else is never taken over.
 */
function orphanOf(cr: MiniXdr, live: KubeObject): boolean {
  const labels = live.metadata?.labels ?? {};
  const ours = childLabels(cr, "");
  return !live.metadata?.ownerReferences?.some((o) => o.controller)
    && labels["app.kubernetes.io/managed-by"] === ours["app.kubernetes.io/managed-by"]
    && labels["app.kubernetes.io/instance"] === ours["app.kubernetes.io/instance"];
}

/** An error's text, stable across retries of the same failure (see stableErrorMessage). */
function errorMessage(err: unknown): string {
  return stableErrorMessage(err instanceof Error ? err.message : String(err));
}

/** Whether the MiniXdr's status already reports this failure for its current generation. */
function alreadyReported(cr: MiniXdr, reason: string, message: string): boolean {
  const ready = cr.status?.conditions?.find((c) => c.type === "Ready");
  return cr.status?.observedGeneration === cr.metadata.generation && ready?.reason === reason && ready.observedGeneration === cr.metadata.generation
    && ready.message === truncateMessage(message, maxConditionMessageLength);
}
