// A kubeconfig for one server with a bearer token and no CA check: for unit tests whose "API server" is a local port
// (nothing listening, or a socket that never answers), where only the client's behaviour is under test.
import type { Kubeconfig } from "../../operator/kube/config.ts";

export function kubeconfigFor(server: string): Kubeconfig {
  return {
    clusters: [{ name: "c", cluster: { server, "insecure-skip-tls-verify": true } }],
    users: [{ name: "u", user: { token: "t" } }],
    contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    "current-context": "x",
  };
}
