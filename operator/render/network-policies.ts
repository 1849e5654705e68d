// Default-deny for the instance's pods, then explicit allows: the detector's API (spec.networkPolicy.ingress, and the
// console), the console's port (spec.networkPolicy.console) and metrics in, DNS and the database out.
import type { V1NetworkPolicy } from "@kubernetes/client-node";
import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { ports } from "./detector-config.ts";
import { childMeta, names, selectorLabels, type Child, type ChildObject, type Component } from "./meta.ts";

type Peer = NonNullable<MiniXdrSpec["networkPolicy"]["ingress"]>;
const namespaceLabel = "kubernetes.io/metadata.name";

/** A pod selector: an empty label map selects every pod, written `{}` (the API server drops an empty matchLabels). */
const podSelector = (labels: Record<string, string>) => (Object.keys(labels).length > 0 ? { matchLabels: labels } : {});

/**
 * NetworkPolicy peers for a user's allow list; unset means "this namespace only", and a list with nothing in it means
 * nobody (an empty `from` would mean everybody: the rule is left out instead).
 */
function peers(peer: Peer | undefined): Record<string, unknown>[] {
  if (!peer) return [{ podSelector: {} }];
  const out: Record<string, unknown>[] = [];
  if (peer.namespaces?.length) {
    out.push({
      namespaceSelector: { matchExpressions: [{ key: namespaceLabel, operator: "In", values: peer.namespaces }] },
      ...(peer.podSelector ? { podSelector: podSelector(peer.podSelector) } : {}),
    });
  } else if (peer.podSelector) {
    out.push({ podSelector: podSelector(peer.podSelector) });
  }
  for (const cidr of peer.cidrs ?? []) out.push({ ipBlock: { cidr } });
  return out;
}

/** An ingress rule for `port` from `from`; none when `from` is empty (which NetworkPolicy reads as "from anywhere"). */
function allowFrom(from: Record<string, unknown>[], port: number): Record<string, unknown>[] {
  return from.length > 0 ? [{ from, ports: [{ protocol: "TCP", port }] }] : [];
}

/** DNS: the cluster DNS pods' namespace, and any IP blocks given (a node-local cache on the host network), on the DNS ports. */
function dnsEgress(spec: MiniXdrSpec): Record<string, unknown> {
  const { dnsNamespace, dnsPorts = [53], dnsCidrs = [] } = spec.networkPolicy.egress;
  return {
    to: [{ namespaceSelector: { matchLabels: { [namespaceLabel]: dnsNamespace } } }, ...dnsCidrs.map((cidr) => ({ ipBlock: { cidr } }))],
    ports: [...new Set(dnsPorts)].flatMap((port) => [{ protocol: "UDP", port }, { protocol: "TCP", port }]),
  };
}

// Built without compact(): in a NetworkPolicy an empty selector ({}) means "every pod" and must stay.
function policy(cr: MiniXdr, name: string, component: string, podSelector: Record<string, string>, rules: { ingress?: unknown[]; egress?: unknown[] }): ChildObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: childMeta(cr, name, component),
    // A rule list left empty is left out: no rule of a policy type allows nothing, and the API server drops [].
    spec: {
      podSelector: { matchLabels: podSelector }, policyTypes: ["Ingress", "Egress"],
      ...(rules.ingress?.length ? { ingress: rules.ingress } : {}), ...(rules.egress?.length ? { egress: rules.egress } : {}),
    },
  };
}

export function renderNetworkPolicies(cr: MiniXdr, spec: MiniXdrSpec): Child<V1NetworkPolicy>[] {
  if (!spec.networkPolicy.enabled) return [];
  const np = spec.networkPolicy;
  const consolePods = { podSelector: { matchLabels: selectorLabels(cr, "console") } };
  const detectorEgress: unknown[] = [dnsEgress(spec)];
  if (spec.storage.type === "postgres") {
    const cidrs = np.egress.databaseCidrs ?? [];
    const to = cidrs.map((cidr) => ({ ipBlock: { cidr } }));
    detectorEgress.push({ ...(to.length ? { to } : {}), ports: [{ protocol: "TCP", port: np.egress.databasePort }] });
  }
  const policies = [
    // Selects every pod of the instance and allows nothing: what is not allowed below is denied.
    policy(cr, names.defaultDeny(cr), "network-policy", selectorLabels(cr), {}),
    policy(cr, names.component(cr, "detector"), "detector", selectorLabels(cr, "detector"), {
      ingress: [
        ...allowFrom([...(spec.console.enabled ? [consolePods] : []), ...peers(np.ingress)], ports.http),
        ...allowFrom(peers(np.metrics), ports.metrics),
      ],
      egress: detectorEgress,
    }),
  ];
  if (spec.console.enabled) {
    const component: Component = "console";
    policies.push(policy(cr, names.component(cr, component), component, selectorLabels(cr, component), {
      // Its own allow list: who may send events to the detector (spec.networkPolicy.ingress) is not who may log in here.
      ingress: allowFrom(peers(np.console), ports.http),
      egress: [dnsEgress(spec), { to: [{ podSelector: { matchLabels: selectorLabels(cr, "detector") } }], ports: [{ protocol: "TCP", port: ports.http }] }],
    }));
  }
  return policies;
}
