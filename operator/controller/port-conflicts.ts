// Ports someone else renumbered. Server-side apply merges a Service's ports by port and protocol, and a container's by
// containerPort and protocol: after a hand edit of our port 9090 to 9191 (kubectl edit, a merge patch), the edited item
// is the editor's, and our apply adds 9090 beside it under the same name, which the API server refuses ("Duplicate
// value"). Drift repair then failed on every pass. These JSON-patch operations replace (or remove) the live items that
// carry one of our port names under another number, so the apply that follows finds ours in their place.
import type { KubeObject } from "../kube/client.ts";

export type JsonPatchOp = { op: "remove"; path: string } | { op: "test" | "replace"; path: string; value: unknown };

interface Port {
  name?: string;
  port?: number;
  containerPort?: number;
  protocol?: string;
}

const numberOf = (p: Port) => p.port ?? p.containerPort;
const protocolOf = (p: Port) => p.protocol ?? "TCP";

/**
 * The live ports named like one of ours but numbered or with a protocol of their own, each after a test that the item
 * at its index is still the one seen: replaced by ours, or removed (highest index first) where the live list already
 * has an item of our number, which the apply then takes over. Not only removed: a Service must keep a port, and the
 * console's has one, so removing it was refused ("spec.ports: Required value") on every pass.
 */
function renumbered(path: string, desired: Port[] | undefined, live: Port[] | undefined): { tests: JsonPatchOp[]; changes: JsonPatchOp[] } {
  const tests: JsonPatchOp[] = [];
  const replacements: JsonPatchOp[] = [];
  const removals: JsonPatchOp[] = [];
  if (!desired?.length || !live?.length) return { tests, changes: [] };
  const ours = new Map(desired.filter((p) => p.name).map((p) => [p.name!, p]));
  const key = (p: Port) => `${numberOf(p)}/${protocolOf(p)}`;
  const mineFor = (p: Port) => {
    const mine = p.name === undefined ? undefined : ours.get(p.name);
    return mine && (numberOf(mine) !== numberOf(p) || protocolOf(mine) !== protocolOf(p)) ? mine : undefined;
  };
  // The API server checks the patched list as a whole: what counts is the numbers of the items the patch leaves alone.
  const kept = new Set(live.filter((p) => !mineFor(p)).map(key));
  live.forEach((p, i) => {
    const mine = mineFor(p);
    if (!mine) return;
    tests.push({ op: "test", path: `${path}/${i}`, value: p });
    if (kept.has(key(mine))) {
      removals.push({ op: "remove", path: `${path}/${i}` });
    } else {
      replacements.push({ op: "replace", path: `${path}/${i}`, value: mine });
      kept.add(key(mine));
    }
  });
  return { tests, changes: [...replacements, ...removals.reverse()] };
}

interface ServiceSpec { ports?: Port[] }
interface DeploymentSpec { template?: { spec?: { containers?: { name: string; ports?: Port[] }[] } } }

/**
 * The JSON patch that puts back renumbered ports of `live` (a Service or a Deployment), guarded by tests that each item
 * removed (and, in a Deployment, its container) is still at the index it was seen at: it removes nothing else from a
 * newer version. Not the resourceVersion: a Deployment's changes with every status write the deployment controller
 * makes, which it does right after the edit that renumbered the port, so the pass that edit starts would have
 * found its cached version already stale (422) and reported ApplyFailed. Undefined when there is nothing to clear.
 */
export function renumberedPortsPatch(desired: KubeObject, live: KubeObject): JsonPatchOp[] | undefined {
  const tests: JsonPatchOp[] = [];
  const changes: JsonPatchOp[] = [];
  if (desired.kind === "Service") {
    const r = renumbered("/spec/ports", (desired.spec as ServiceSpec | undefined)?.ports, (live.spec as ServiceSpec | undefined)?.ports);
    tests.push(...r.tests);
    changes.push(...r.changes);
  } else if (desired.kind === "Deployment") {
    const liveContainers = (live.spec as DeploymentSpec | undefined)?.template?.spec?.containers ?? [];
    for (const c of (desired.spec as DeploymentSpec | undefined)?.template?.spec?.containers ?? []) {
      const j = liveContainers.findIndex((l) => l.name === c.name);
      if (j < 0) continue;
      const r = renumbered(`/spec/template/spec/containers/${j}/ports`, c.ports, liveContainers[j]!.ports);
      if (r.changes.length === 0) continue;
      tests.push({ op: "test", path: `/spec/template/spec/containers/${j}/name`, value: c.name }, ...r.tests);
      changes.push(...r.changes);
    }
  }
  return changes.length === 0 ? undefined : [...tests, ...changes];
}
