// A small REST client over a KubeConnection: server-side apply with our field manager, the status subresource,
// deletes with a UID precondition, lists and streaming watches, and one hook that counts every request by verb.
import type { ClientRequest, IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { text } from "node:stream/consumers";
import { fieldManager } from "../render/meta.ts";
import { http } from "../runtime/node-http.ts";
import type { KubeConnection, PreparedRequest } from "./config.ts";

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export type Verb = "get" | "list" | "watch" | "create" | "patch" | "update" | "delete";

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export function resourcePath(r: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return [base, namespace ? `namespaces/${namespace}` : undefined, r.plural, name, subresource].filter(Boolean).join("/");
}

export interface ObjectMeta {
  name?: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string; deletionTimestamp?: string;
  labels?: Record<string, string>; annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; uid: string; kind: string; name: string; controller?: boolean }[];
  managedFields?: { manager?: string; operation?: string; subresource?: string; fieldsV1?: Record<string, unknown> }[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface CallOptions {
  body?: object;
  contentType?: string;
  signal?: AbortSignal;
}

/** How long a request may go without a byte from the server: a plain request fails, a watch ends (as client-node's did). */
const idleTimeoutMs = 30_000;

function timeoutError(what: string): Error {
  const err = new Error(`${what}: no data for ${idleTimeoutMs / 1000} s`);
  err.name = "TimeoutError";
  return err;
}

function apiError(method: string, url: URL, status: number, body: string): KubeApiError {
  let reason = "Unknown";
  let message = body;
  try {
    const s = JSON.parse(body) as { reason?: string; message?: string };
    reason = s.reason ?? reason;
    message = s.message ?? message;
  } catch {
    // not a Status object
  }
  return new KubeApiError(status, reason, `${method} ${url.pathname}: ${status} ${message}`);
}

interface Exchange {
  res: IncomingMessage;
  /** Why the request was destroyed (timeout, abort), which the response stream reports only as "aborted". */
  failure: () => Error | undefined;
}

/** A write the client refused to send (see `KubeClient.fenceWrites`). */
export class WriteFencedError extends Error {
  override name = "WriteFencedError";
}

export class KubeClient {
  private writeGuard: (() => string | undefined) | undefined;
  readonly connection: KubeConnection;
  private readonly onRequest: (verb: Verb, resource: string) => void;

  constructor(connection: KubeConnection, onRequest: (verb: Verb, resource: string) => void = () => {}) {
    this.connection = connection;
    this.onRequest = onRequest;
  }

  /** `signal` aborts the request (and its connection) when the caller stops waiting for it. */
  get<T = KubeObject>(r: ResourceRef, namespace: string, name: string, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.call<T>("get", r.plural, "GET", resourcePath(r, namespace, name), opts);
  }

  create<T = KubeObject>(r: ResourceRef, namespace: string, body: object, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.call<T>("create", r.plural, "POST", `${resourcePath(r, namespace)}?fieldManager=${fieldManager}`, { body, contentType: "application/json", ...opts });
  }

  /** Replaces the object (PUT): optimistic concurrency through the body's resourceVersion. */
  update<T = KubeObject>(r: ResourceRef, namespace: string, name: string, body: object, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.call<T>("update", r.plural, "PUT", `${resourcePath(r, namespace, name)}?fieldManager=${fieldManager}`, { body, contentType: "application/json", ...opts });
  }

  /** Server-side apply with our field manager, forcing ownership of the fields we set. */
  apply<T = KubeObject>(r: ResourceRef, namespace: string, name: string, body: object, opts: { subresource?: string; manager?: string } = {}): Promise<T> {
    const path = `${resourcePath(r, namespace, name, opts.subresource)}?fieldManager=${opts.manager ?? fieldManager}&force=true`;
    return this.call<T>("patch", opts.subresource ? `${r.plural}/${opts.subresource}` : r.plural, "PATCH", path, { body, contentType: "application/apply-patch+yaml" });
  }

  /** A JSON patch (RFC 6902): list items removed by index, with a `test` operation as its precondition. */
  jsonPatch<T = KubeObject>(r: ResourceRef, namespace: string, name: string, ops: object[]): Promise<T> {
    return this.call<T>("patch", r.plural, "PATCH", `${resourcePath(r, namespace, name)}?fieldManager=${fieldManager}`, { body: ops, contentType: "application/json-patch+json" });
  }

  /** Deletes only the object with this UID, so a same-named object created since is never removed by mistake. */
  delete(r: ResourceRef, namespace: string, name: string, uid: string): Promise<unknown> {
    const body = { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background", preconditions: { uid } };
    return this.call("delete", r.plural, "DELETE", resourcePath(r, namespace, name), { body, contentType: "application/json" });
  }

  /**
   * Refuses every write from now on while `guard` gives a reason: a replica that has lost its leader Lease must not
   * write (its caches may be stale, and another replica now writes), however far its reconciles had got.
   */
  fenceWrites(guard: () => string | undefined): void {
    this.writeGuard = guard;
  }

  /** One request with a JSON answer; a non-2xx answer rejects with KubeApiError. */
  async call<T>(verb: Verb, resource: string, method: string, path: string, opts: CallOptions = {}): Promise<T> {
    if (method !== "GET") {
      const refused = this.writeGuard?.();
      if (refused) throw new WriteFencedError(`${method} ${path}: not sent: ${refused}`);
    }
    this.onRequest(verb, resource);
    const url = this.connection.url(path);
    const { res, failure } = await this.exchange(method, url, opts);
    let body: string;
    try {
      body = await text(res);
    } catch (err) {
      throw failure() ?? err;
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return (body ? JSON.parse(body) : undefined) as T;
    if (status === 401) this.connection.unauthorized();
    throw apiError(method, url, status, body);
  }

  /**
   * A watch (`path` carries `watch=true` and its query): `onEvent` gets each event's type and object as they
   * arrive. Resolves when the server ends the stream; rejects with KubeApiError when it refuses the watch, with
   * an error named TimeoutError after 30 s without data, or with the abort reason when `signal` aborts.
   */
  async watch(resource: string, path: string, onEvent: (type: string, object: unknown) => void, opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.onRequest("watch", resource);
    const url = this.connection.url(path);
    const { res, failure } = await this.exchange("GET", url, opts);
    if (res.statusCode !== 200) {
      const body = await text(res).catch(() => "");
      if (res.statusCode === 401) this.connection.unauthorized();
      throw apiError("GET", url, res.statusCode ?? 0, body);
    }
    res.setEncoding("utf8");
    let pending = "";
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        pending += chunk;
        let start = 0;
        for (let nl = pending.indexOf("\n"); nl !== -1; nl = pending.indexOf("\n", start)) {
          const line = pending.slice(start, nl);
          start = nl + 1;
          if (line.length === 0) continue;
          let event: { type?: string; object?: unknown };
          try {
            event = JSON.parse(line) as typeof event;
          } catch {
            continue; // not an event; client-node skipped these too
          }
          onEvent(event.type ?? "", event.object);
        }
        pending = start === 0 ? pending : pending.slice(start);
      }
    } catch (err) {
      throw failure() ?? err;
    }
  }

  /** Sends a request and waits for the response head. A request on a reused keep-alive connection that the server
   * had just closed is sent once more on a fresh one (it never reached the server). */
  private async exchange(method: string, url: URL, opts: CallOptions): Promise<Exchange> {
    const prepared = await this.connection.prepare(method, url);
    // Again after preparing, which may wait (an exec credential plugin fetching a token): the Lease can be lost meanwhile.
    if (method !== "GET") {
      const refused = this.writeGuard?.();
      if (refused) throw new WriteFencedError(`${method} ${url.pathname}: not sent: ${refused}`);
    }
    try {
      return await this.dispatch(method, url, opts, prepared);
    } catch (err) {
      if (!(err instanceof RetryableReset)) throw err;
      return this.dispatch(method, url, opts, prepared, false);
    }
  }

  private dispatch(method: string, url: URL, opts: CallOptions, prepared: PreparedRequest, retry = true): Promise<Exchange> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string | number> = { ...prepared.headers, Accept: "application/json" };
    if (payload !== undefined) {
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = Buffer.byteLength(payload);
    }
    const send = url.protocol === "https:" ? httpsRequest : http.request;
    return new Promise<Exchange>((resolve, reject) => {
      let failure: Error | undefined;
      const req: ClientRequest = send(url, { method, agent: prepared.agent, headers, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => resolve({ res, failure: () => failure }));
      req.setTimeout(idleTimeoutMs, () => req.destroy(timeoutError(`${method} ${url.pathname}`)));
      req.on("error", (err: NodeJS.ErrnoException) => {
        failure ??= err;
        if (retry && req.reusedSocket && err.code === "ECONNRESET") reject(new RetryableReset());
        else reject(err);
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

class RetryableReset extends Error {}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.status === 409;
