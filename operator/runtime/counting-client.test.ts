import * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { countRequests, describeRequest, type ApiRequest } from "./counting-client.ts";

const s = "https://10.0.0.1:6443";

describe("describeRequest", () => {
  it.each([
    ["GET", "/api/v1/namespaces/ns/configmaps/cm", "get", "configmaps"],
    ["GET", "/api/v1/namespaces/ns/configmaps?limit=500", "list", "configmaps"],
    ["GET", "/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion=12", "watch", "configmaps"],
    ["GET", "/apis/xdr.minixdr.io/v1alpha1/minixdrs?watch=true", "watch", "minixdrs"],
    ["POST", "/apis/apps/v1/namespaces/ns/deployments", "create", "deployments"],
    ["PUT", "/apis/apps/v1/namespaces/ns/deployments/d/status", "update", "deployments/status"],
    ["PATCH", "/apis/xdr.minixdr.io/v1alpha1/namespaces/ns/minixdrs/x/status", "patch", "minixdrs/status"],
    ["DELETE", "/api/v1/namespaces/ns/secrets/s", "delete", "secrets"],
    ["DELETE", "/api/v1/namespaces/ns/pods", "deletecollection", "pods"],
    ["GET", "/api/v1/namespaces/ns", "get", "namespaces"],
    ["GET", "/api/v1/namespaces", "list", "namespaces"],
    ["PUT", "/api/v1/namespaces/ns/finalize", "update", "namespaces/finalize"],
    ["GET", "/api/v1/nodes/n1", "get", "nodes"],
    ["GET", "/apis/external-secrets.io/v1", "get", "discovery"],
    ["GET", "/version", "get", "nonresource"],
  ])("%s %s is %s %s", (method, path, verb, resource) => {
    expect(describeRequest(method, s + path)).toEqual({ verb, resource });
  });

  it("reports requests made through a KubeConfig it wraps, before they are sent", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const seen: ApiRequest[] = [];
    const api = countRequests(kc, (r) => seen.push(r)).makeApiClient(k8s.CoreV1Api);
    // Nothing listens on port 1: the request fails, but it was attempted and counted.
    await expect(api.readNamespacedSecret({ namespace: "ns", name: "s" })).rejects.toThrow();
    expect(seen).toEqual([{ verb: "get", resource: "secrets" }]);
  });
});
