import type { KubeConnection, PreparedRequest } from "../kube/config.ts";

export interface ApiRequest {
  /** Kubernetes verb as in audit logs: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  /** Plural resource name with its subresource ("deployments/status"); "discovery" or "nonresource" otherwise. */
  resource: string;
}

/** The verb and resource of a request, the way kube-apiserver's RequestInfo derives them from method and URL. */
export function describeRequest(method: string, url: string): ApiRequest {
  const u = new URL(url, "https://kubernetes");
  const parts = u.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === "apis" && parts.length >= 3) rest = parts.slice(3);
  else return { verb: method.toLowerCase() === "get" ? "get" : method.toLowerCase(), resource: parts[0] === "api" || parts[0] === "apis" ? "discovery" : "nonresource" };
  if (rest.length === 0) return { verb: "get", resource: "discovery" };
  // namespaces/<ns>/<resource>/... is a namespaced resource; namespaces/<name>[/status|/finalize] is the namespace itself.
  if (rest[0] === "namespaces" && rest.length >= 3 && !["status", "finalize"].includes(rest[2]!)) rest = rest.slice(2);
  const [resource = "", name, subresource] = rest;
  const label = subresource ? `${resource}/${subresource}` : resource;
  const m = method.toUpperCase();
  const watching = ["true", "1"].includes(u.searchParams.get("watch") ?? "");
  let verb: string;
  if (m === "GET" || m === "HEAD") verb = watching ? "watch" : name === undefined ? "list" : "get";
  else if (m === "POST") verb = "create";
  else if (m === "PUT") verb = "update";
  else if (m === "PATCH") verb = "patch";
  else if (m === "DELETE") verb = name === undefined ? "deletecollection" : "delete";
  else verb = m.toLowerCase();
  return { verb, resource: label };
}

/**
 * Makes `connection` report every request sent through it. Every request (KubeClient's calls, the informers'
 * lists and watches, the leader election's lease requests) asks `prepare` once for its credentials with the final
 * method and URL, so wrapping that one method on the instance counts them all. Returns the same connection.
 */
export function countRequests(connection: KubeConnection, onRequest: (req: ApiRequest) => void): KubeConnection {
  const prepare = connection.prepare.bind(connection);
  connection.prepare = (method: string, url: URL): Promise<PreparedRequest> => {
    try {
      onRequest(describeRequest(method, url.href));
    } catch {
      // Counting must never break a request.
    }
    return prepare(method, url);
  };
  return connection;
}
