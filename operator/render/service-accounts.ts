import type { V1ServiceAccount } from "@kubernetes/client-node";
import type { MiniXdr } from "../api/minixdr.ts";
import { childMeta, names, type Child, type Component } from "./meta.ts";

/** One ServiceAccount per component; neither needs the Kubernetes API, so tokens are not mounted. */
export function renderServiceAccount(cr: MiniXdr, component: Component): Child<V1ServiceAccount> {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: childMeta(cr, names.component(cr, component), component),
    automountServiceAccountToken: false,
  };
}
