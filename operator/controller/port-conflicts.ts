// Ports someone else renumbered. Server-side apply merges a Service's ports by port and protocol, and a container's by
// containerPort and protocol: after a hand edit of our port 9090 to 9191 (kubectl edit, a merge patch), the edited item
// is the editor's, and our apply adds 9090 beside it under the same name, which the API server refuses ("Duplicate
// value"). Drift repair then failed on every pass. These JSON-patch operations remove the live items that carry one of
// our port names under another number, so the apply that follows puts ours back.
import type { KubeObject } from "../kube/client.ts";

export type JsonPatchOp = { op: "remove"; path: string } | { op: "test"; path: string; value: unknown };

interface Port {
  name?: string;
  port?: number;
  containerPort?: number;
  protocol?: string;
}

const numberOf = (p: Port) => p.port ?? p.containerPort;
const protocolOf = (p: Port) => p.protocol ?? "TCP";

/** Removals (highest index first) of live ports named like one of ours but numbered or with a protocol of their own. */
function renumbered(path: string, desired: Port[] | undefined, live: Port[] | undefined): JsonPatchOp[] {
  if (!desired?.length || !live?.length) return [];
  const ours = new Map(desired.filter((p) => p.name).map((p) => [p.name!, p]));
  const ops: JsonPatchOp[] = [];
  live.forEach((p, i) => {
    const mine = p.name === undefined ? undefined : ours.get(p.name);
    if (mine && (numberOf(mine) !== numberOf(p) || protocolOf(mine) !== protocolOf(p))) ops.push({ op: "remove", path: `${path}/${i}` });
  });
  return ops.reverse();
}

interface ServiceSpec { ports?: Port[] }
interface DeploymentSpec { template?: { spec?: { containers?: { name: string; ports?: Port[] }[] } } }

/**
 * The JSON patch that clears renumbered ports off `live` (a Service or a Deployment), guarded by its resourceVersion
 * so it removes nothing from a version it was not worked out from; undefined when there is nothing to clear.
 */
export function renumberedPortsPatch(desired: KubeObject, live: KubeObject): JsonPatchOp[] | undefined {
  let ops: JsonPatchOp[] = [];
  if (desired.kind === "Service") {
    ops = renumbered("/spec/ports", (desired.spec as ServiceSpec | undefined)?.ports, (live.spec as ServiceSpec | undefined)?.ports);
  } else if (desired.kind === "Deployment") {
    const liveContainers = (live.spec as DeploymentSpec | undefined)?.template?.spec?.containers ?? [];
    for (const c of (desired.spec as DeploymentSpec | undefined)?.template?.spec?.containers ?? []) {
      const j = liveContainers.findIndex((l) => l.name === c.name);
      if (j >= 0) ops.push(...renumbered(`/spec/template/spec/containers/${j}/ports`, c.ports, liveContainers[j]!.ports));
    }
  }
  const resourceVersion = live.metadata?.resourceVersion;
  if (ops.length === 0 || !resourceVersion) return undefined;
  return [{ op: "test", path: "/metadata/resourceVersion", value: resourceVersion }, ...ops];
}
