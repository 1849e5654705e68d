// Detections the configuration says not to record (`detection.suppressions`): what an organisation knows and accepts,
// such as a monitoring poller sweeping ports, a nightly backup's transfer or developers' exec in their own namespaces.
import { BlockList, isIP } from "node:net";
import type { DetectionConfig } from "../config/detectorConfig.ts";
import type { Detection } from "../rules/detectionRule.ts";

interface Suppression {
  techniques?: ReadonlySet<string>;
  sources?: BlockList;
  actors?: ReadonlySet<string>;
  namespaces?: ReadonlySet<string>;
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split("/");
    list.addSubnet(address!, Number(prefix), isIP(address!) === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

export class Suppressions {
  private readonly list: Suppression[];

  constructor(config: DetectionConfig["suppressions"]) {
    this.list = config.map((s) => ({
      ...(s.techniques ? { techniques: new Set(s.techniques) } : {}),
      ...(s.sourceCidrs ? { sources: blockList(s.sourceCidrs) } : {}),
      ...(s.actors ? { actors: new Set(s.actors) } : {}),
      ...(s.namespaces ? { namespaces: new Set(s.namespaces) } : {}),
    }));
  }

  /**
   * Whether a suppression covers the detection in every field it gives: its technique (`key`: a technique id, or
   * `anomaly` for the model's own), its source address, its actor, and, for namespaces, every Kubernetes request of its
   * evidence being in one of them (a request outside them, or cluster-wide, is not covered).
   */
  covers(d: Detection, key: string): boolean {
    const family = isIP(d.sourceIp);
    return this.list.some((s) => (!s.techniques || s.techniques.has(key))
      && (!s.sources || (family !== 0 && s.sources.check(d.sourceIp, family === 6 ? "ipv6" : "ipv4")))
      && (!s.actors || s.actors.has(d.actor))
      && (!s.namespaces || (d.events.some((e) => e.k8s) && d.events.every((e) => !e.k8s || (e.k8s.namespace !== undefined && s.namespaces!.has(e.k8s.namespace))))));
  }
}
