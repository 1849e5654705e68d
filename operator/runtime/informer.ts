import { setTimeout as sleep } from "node:timers/promises";
import { pino, type Logger } from "pino";
import { KubeApiError, type KubeClient } from "../kube/client.ts";
import { backoffDelay } from "./work-queue.ts";

/** What an informer reads of the objects it caches. */
export interface KubernetesObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; managedFields?: unknown };
}

export interface ResourceType {
  /** "v1" for the core group, otherwise "group/version". */
  apiVersion: string;
  kind: string;
  plural: string;
  /** Default true. */
  namespaced?: boolean;
}

export interface InformerOptions {
  /** Only this namespace; empty or absent means all namespaces. Ignored for cluster-scoped types. */
  namespace?: string;
  labelSelector?: string;
  /** Period of the resync handler calls; 0 or absent turns resync off. */
  resyncMs?: number;
  /** Backoff of re-watches and re-lists after errors. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How often to look again for a type the API server does not serve (404) or refuses (403). Default 30 s. */
  unavailableRetryMs?: number;
  /** Page size of lists. Default 500. */
  pageSize?: number;
  logger?: Logger;
  /** Applied to every object before it is cached, e.g. to drop fields nobody reads (managedFields). */
  transform?: <O extends KubernetesObject>(obj: O) => O;
}

export interface InformerHandlers<T> {
  onAdd?: (obj: T) => void;
  onUpdate?: (obj: T, old: T) => void;
  onDelete?: (obj: T) => void;
  onResync?: (obj: T) => void;
}

/** What readiness checks need from an informer. */
export interface SyncStatus {
  readonly name: string;
  readonly hasSynced: boolean;
  /** undefined until the first list has answered. */
  readonly available: boolean | undefined;
  readonly unavailableReason: string | undefined;
}

/** A group's versions as the API server's discovery (GET /apis/GROUP) lists them. */
interface ApiGroup {
  versions?: { version?: string }[];
}

export interface InformerStats {
  /** Completed lists (the first one and every re-list). */
  lists: number;
  /** Watch requests started. */
  watches: number;
  /** Watches that ended with 410 Gone and led to a re-list. */
  expired: number;
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ""}` : (obj.metadata?.name ?? "");
}

/** A list response as JSON. */
interface RawList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

interface WatchEnd {
  error: unknown;
  gone: boolean;
  events: number;
  ms: number;
}

// No timeoutSeconds on watches: the API server then ends them after --min-request-timeout (x1..2), which is
// what spreads re-watches out. KubeClient.watch also ends a watch after 30 s without data; a re-watch from
// the last resourceVersion is cheap and loses nothing, so both count as normal ends, not as failures.

function statusCode(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.status : undefined;
}

/**
 * List-then-watch cache of one resource type, like client-go's shared informer. Lists and watches go through
 * the KubeClient (its connection's credentials, and its request counting).
 */
export class Informer<T extends KubernetesObject> implements SyncStatus {
  readonly name: string;
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0 };
  private readonly client: KubeClient;
  private readonly type: Required<ResourceType>;
  private readonly opts: InformerOptions;
  private readonly log: Logger;
  private readonly cache = new Map<string, T>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly stopController = new AbortController();
  private synced = false;
  private availability: boolean | undefined;
  private forbiddenToList = false;
  private reason: string | undefined;
  private otherVersions: string[] = [];
  private lastRv = "";
  private running: Promise<void> | undefined;
  private abortWatch: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(client: KubeClient, type: ResourceType, opts: InformerOptions = {}) {
    this.client = client;
    this.type = { namespaced: true, ...type };
    this.opts = opts;
    const group = type.apiVersion.includes("/") ? type.apiVersion.split("/")[0] : "";
    this.name = group ? `${type.plural}.${group}` : type.plural;
    this.log = (opts.logger ?? pino({ level: "silent" })).child({ informer: this.name });
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get available(): boolean | undefined {
    return this.availability;
  }

  get unavailableReason(): string | undefined {
    return this.reason;
  }

  /**
   * While the type's version is not served (404): the versions the API server does serve of its group, e.g. ["v1beta1"]
   * when an older release of the CRD's project is installed. Empty when the group is not served at all.
   */
  get otherServedVersions(): string[] {
    return this.availability === false ? this.otherVersions : [];
  }

  /** The API server refused to list the type (403: RBAC), as opposed to not serving it (404). */
  get forbidden(): boolean {
    return this.availability === false && this.forbiddenToList;
  }

  /** The last resourceVersion seen from a list, an event or a bookmark. */
  get resourceVersion(): string {
    return this.lastRv;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Registers handlers; returns a function that removes them. Objects already cached are not replayed. */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.handlers.add(handlers);
    return () => this.handlers.delete(handlers);
  }

  start(): void {
    if (this.running) return;
    this.running = this.run();
    const resyncMs = this.opts.resyncMs ?? 0;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        if (!this.synced) return;
        for (const obj of this.cache.values()) this.emit("onResync", obj);
      }, resyncMs);
    }
  }

  /**
   * Resolves once the first list has filled the cache. With `allowUnavailable` it also resolves when the type
   * turned out not to be served (an optional CRD that is not installed); it rejects if `signal` aborts first.
   */
  waitForSync(opts: { allowUnavailable?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const done = () => this.synced || (opts.allowUnavailable === true && this.availability === false);
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      opts.signal?.addEventListener("abort", () => {
        this.waiters.delete(check);
        reject(new Error(`informer ${this.name}: gave up waiting for sync`, { cause: opts.signal?.reason }));
      }, { once: true });
    });
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    clearInterval(this.resyncTimer);
    this.abortWatch?.();
    await this.running?.catch(() => undefined);
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private collectionPath(): string {
    const base = this.type.apiVersion.includes("/") ? `/apis/${this.type.apiVersion}` : `/api/${this.type.apiVersion}`;
    const ns = this.type.namespaced ? this.opts.namespace : undefined;
    return ns ? `${base}/namespaces/${encodeURIComponent(ns)}/${this.type.plural}` : `${base}/${this.type.plural}`;
  }

  private backoff(failures: number): number {
    return backoffDelay(failures, this.opts.backoff?.baseMs ?? 200, this.opts.backoff?.maxMs ?? 30_000);
  }

  /** Sleeps unless stopped; returns false when stopped. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.stopController.signal });
      return true;
    } catch {
      return false;
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.relist();
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        const code = statusCode(err);
        if (code === 404 || code === 403) {
          this.forbiddenToList = code === 403;
          this.otherVersions = code === 404 ? await this.groupVersions() : [];
          if (this.stopped) return;
          const others = this.otherVersions.length > 0 ? `; it serves ${this.otherVersions.join(", ")} only` : "";
          this.markUnavailable(code === 404
            ? `${this.name}/${this.type.apiVersion.split("/").pop() ?? ""} is not served by the API server (404 on list)${others}`
            : `forbidden to list ${this.name} (403): ${(err as Error).message}`);
          if (!(await this.pause(this.opts.unavailableRetryMs ?? 30_000))) return;
        } else {
          failures++;
          this.log.warn({ err, failures }, "list failed");
          if (!(await this.pause(this.backoff(failures)))) return;
        }
        continue;
      }
      // Watch from the last resourceVersion until it expires (410) or the type disappears.
      while (!this.stopped) {
        const end = await this.watchOnce();
        if (this.stopped) return;
        const code = statusCode(end.error);
        if (end.gone || code === 410) {
          this.stats.expired++;
          this.log.info({ resourceVersion: this.lastRv }, "resourceVersion expired; re-listing");
          break;
        }
        if (code === 404 || code === 403) break;
        const healthy = end.events > 0 || end.ms >= 1_000;
        const timedOut = end.error instanceof Error && end.error.name === "TimeoutError";
        if (end.error && !timedOut) {
          failures = healthy ? 1 : failures + 1;
          this.log.warn({ err: end.error, failures }, "watch failed; re-watching");
        } else {
          failures = healthy ? 0 : failures + 1;
        }
        if (failures > 0 && !(await this.pause(this.backoff(failures)))) return;
      }
    }
  }

  /**
   * The versions other than this type's that the API server serves of its group (none for the core group, or when it
   * cannot say). Not this type's own: discovery may list it in the seconds after its CRD is created, while the list
   * still answered 404, and "serves v1 only: upgrade" would then be said of the version the operator writes.
   */
  private async groupVersions(): Promise<string[]> {
    const [group, own] = this.type.apiVersion.includes("/") ? this.type.apiVersion.split("/") as [string, string] : ["", this.type.apiVersion];
    if (!group) return [];
    try {
      const g = await this.client.call<ApiGroup>("get", "apigroups", "GET", `/apis/${encodeURIComponent(group)}`, { signal: this.stopController.signal });
      return (g?.versions ?? []).map((v) => v.version ?? "").filter((v) => v !== "" && v !== own);
    } catch {
      return [];
    }
  }

  private markUnavailable(reason: string): void {
    if (this.availability !== false || this.reason !== reason) this.log.warn({ reason }, "resource type unavailable");
    this.availability = false;
    this.reason = reason;
    this.synced = false;
    this.lastRv = "";
    // The objects went away with their type (a deleted CRD takes its objects with it).
    for (const [key, obj] of [...this.cache]) {
      this.cache.delete(key);
      this.emit("onDelete", obj);
    }
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    for (const check of [...this.waiters]) check();
  }

  private request(query: Record<string, string>): Promise<RawList<T>> {
    return this.client.call<RawList<T>>("list", this.type.plural, "GET", `${this.collectionPath()}?${new URLSearchParams(query).toString()}`,
      { signal: this.stopController.signal });
  }

  /** Lists everything (page by page), replaces the cache and emits the differences. */
  private async relist(): Promise<void> {
    const items = new Map<string, T>();
    let rv = "";
    let cont: string | undefined;
    let restarted = false;
    do {
      const query: Record<string, string> = { limit: String(this.opts.pageSize ?? 500) };
      if (cont) query.continue = cont;
      if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
      let page: RawList<T>;
      try {
        page = await this.request(query);
      } catch (err) {
        // An expired continue token: start the list over once, from a fresh snapshot.
        if (cont && statusCode(err) === 410 && !restarted) {
          restarted = true;
          items.clear();
          cont = undefined;
          continue;
        }
        throw err;
      }
      for (const item of page.items) {
        item.apiVersion = this.type.apiVersion;
        item.kind = this.type.kind;
        items.set(objectKey(item), item);
      }
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont);

    this.stats.lists++;
    for (const [key, old] of [...this.cache]) {
      if (!items.has(key)) {
        this.cache.delete(key);
        this.emit("onDelete", old);
      }
    }
    for (const [key, obj] of items) this.upsert(key, obj);
    this.lastRv = rv;
    this.availability = true;
    this.reason = undefined;
    if (!this.synced) {
      this.synced = true;
      this.log.info({ objects: this.cache.size, resourceVersion: rv }, "synced");
    }
    this.notifyWaiters();
  }

  private upsert(key: string, received: T): void {
    const obj = this.opts.transform ? this.opts.transform(received) : received;
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.emit("onAdd", obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit("onUpdate", obj, old);
  }

  private async watchOnce(): Promise<WatchEnd> {
    const started = Date.now();
    let events = 0;
    let gone = false;
    this.stats.watches++;
    const query = new URLSearchParams({ watch: "true", resourceVersion: this.lastRv, allowWatchBookmarks: "true" });
    if (this.opts.labelSelector) query.set("labelSelector", this.opts.labelSelector);
    const controller = new AbortController();
    this.abortWatch = () => controller.abort();
    let error: unknown;
    try {
      await this.client.watch(this.type.plural, `${this.collectionPath()}?${query.toString()}`, (type, obj) => {
        events++;
        if (type === "ERROR") {
          const status = obj as { code?: number; message?: string };
          if (status.code === 410) gone = true;
          else this.log.warn({ status }, "watch error event");
          return;
        }
        this.onWatchEvent(type, obj as T);
      }, { signal: controller.signal });
    } catch (err) {
      // Stopping aborts the watch; that is no failure.
      error = controller.signal.aborted ? undefined : err;
    } finally {
      this.abortWatch = undefined;
    }
    return { error, gone, events, ms: Date.now() - started };
  }

  private onWatchEvent(type: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.lastRv = rv;
    if (type === "BOOKMARK") return;
    obj.apiVersion ??= this.type.apiVersion;
    obj.kind ??= this.type.kind;
    const key = objectKey(obj);
    if (type === "ADDED" || type === "MODIFIED") {
      this.upsert(key, obj);
    } else if (type === "DELETED") {
      if (this.cache.delete(key)) this.emit("onDelete", obj);
    }
  }

  private emit(which: "onAdd" | "onDelete" | "onResync", obj: T): void;
  private emit(which: "onUpdate", obj: T, old: T): void;
  private emit(which: keyof InformerHandlers<T>, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (which === "onUpdate") h.onUpdate?.(obj, old!);
        else h[which]?.(obj);
      } catch (err) {
        this.log.error({ err, object: objectKey(obj), handler: which }, "informer handler threw");
      }
    }
  }
}
