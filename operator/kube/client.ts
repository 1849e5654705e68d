// A small REST client over KubeConfig's credentials: server-side apply with our field manager, the status
// subresource, deletes with a UID precondition, and one hook that counts every request by verb.
import { request as httpsRequest, type RequestOptions } from "node:https";
import { request as httpRequest } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { fieldManager } from "../render/meta.ts";

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export type Verb = "get" | "list" | "create" | "patch" | "update" | "delete";

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

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string; deletionTimestamp?: string;
    labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { uid: string; kind: string; controller?: boolean }[];
    managedFields?: { manager?: string; operation?: string; subresource?: string; fieldsV1?: Record<string, unknown> }[] };
  [field: string]: unknown;
}

export class KubeClient {
  private readonly kc: KubeConfig;
  private readonly onRequest: (verb: Verb, resource: string) => void;

  constructor(kc: KubeConfig, onRequest: (verb: Verb, resource: string) => void = () => {}) {
    this.kc = kc;
    this.onRequest = onRequest;
  }

  get<T = KubeObject>(r: ResourceRef, namespace: string, name: string): Promise<T> {
    return this.call<T>("get", r.plural, "GET", resourcePath(r, namespace, name));
  }

  create<T = KubeObject>(r: ResourceRef, namespace: string, body: object): Promise<T> {
    return this.call<T>("create", r.plural, "POST", `${resourcePath(r, namespace)}?fieldManager=${fieldManager}`, body, "application/json");
  }

  /** Server-side apply with our field manager, forcing ownership of the fields we set. */
  apply<T = KubeObject>(r: ResourceRef, namespace: string, name: string, body: object, opts: { subresource?: string; manager?: string } = {}): Promise<T> {
    const path = `${resourcePath(r, namespace, name, opts.subresource)}?fieldManager=${opts.manager ?? fieldManager}&force=true`;
    return this.call<T>("patch", opts.subresource ? `${r.plural}/${opts.subresource}` : r.plural, "PATCH", path, body, "application/apply-patch+yaml");
  }

  /** Deletes only the object with this UID, so a same-named object created since is never removed by mistake. */
  delete(r: ResourceRef, namespace: string, name: string, uid: string): Promise<unknown> {
    const body = { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background", preconditions: { uid } };
    return this.call("delete", r.plural, "DELETE", resourcePath(r, namespace, name), body, "application/json");
  }

  async call<T>(verb: Verb, resource: string, method: string, path: string, body?: object, contentType?: string): Promise<T> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const url = new URL(path, cluster.server);
    const opts: RequestOptions = { method, headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    opts.headers = { ...opts.headers, Accept: "application/json", ...(payload ? { "Content-Type": contentType ?? "application/json", "Content-Length": Buffer.byteLength(payload) } : {}) };
    this.onRequest(verb, resource);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { ...opts, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve((text ? JSON.parse(text) : undefined) as T);
          let reason = "Unknown";
          let message = text;
          try {
            const s = JSON.parse(text) as { reason?: string; message?: string };
            reason = s.reason ?? reason;
            message = s.message ?? message;
          } catch {
            // not a Status object
          }
          reject(new KubeApiError(status, reason, `${method} ${url.pathname}: ${status} ${message}`));
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      req.on("error", reject);
      if (payload) req.write(payload);
      req.end();
    });
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.status === 409;
