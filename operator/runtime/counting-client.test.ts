import { describe, expect, it } from "vitest";
import { KubeClient } from "../kube/client.ts";
import { connectionFromKubeconfig } from "../kube/config.ts";
import { countRequests, describeRequest, type ApiRequest } from "./counting-client.ts";
import { kubeconfigFor } from "../../test/support/kubeconfig.ts";

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

  it("reports requests made through a connection it wraps, before they are sent", async () => {
    const connection = connectionFromKubeconfig(kubeconfigFor("https://127.0.0.1:1"));
    const seen: ApiRequest[] = [];
    const client = new KubeClient(countRequests(connection, (r) => seen.push(r)));
    // Nothing listens on port 1: the requests fail, but they were attempted and counted.
    await expect(client.get({ group: "", version: "v1", plural: "secrets" }, "ns", "s")).rejects.toThrow();
    await expect(client.watch("configmaps", "/api/v1/namespaces/ns/configmaps?watch=true", () => {})).rejects.toThrow();
    expect(seen).toEqual([{ verb: "get", resource: "secrets" }, { verb: "watch", resource: "configmaps" }]);
  });
});
