import type { V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { MiniXdr } from "../api/minixdr.ts";
import { ports } from "./detector-config.ts";
import { childMeta, names, selectorLabels, type Child, type Component } from "./meta.ts";

export function renderService(cr: MiniXdr, component: Component): Child<V1Service> {
  const servicePorts: V1ServicePort[] = [{ name: "http", port: ports.http, targetPort: "http", protocol: "TCP" }];
  if (component === "detector") servicePorts.push({ name: "metrics", port: ports.metrics, targetPort: "metrics", protocol: "TCP" });
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMeta(cr, names.component(cr, component), component),
    spec: { type: "ClusterIP", selector: selectorLabels(cr, component), ports: servicePorts },
  };
}

export function detectorEndpoint(cr: MiniXdr): string {
  return `http://${names.component(cr, "detector")}.${cr.metadata.namespace}.svc:${ports.http}`;
}
