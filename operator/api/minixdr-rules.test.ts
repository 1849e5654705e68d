// The operator refuses in memory every spec the API server refuses (test/cluster/minixdr-validation.test.ts applies
// the same list to a real one), naming the same field: `minixdr render` and a spec stored before a stricter CRD are
// refused as `kubectl apply` would refuse them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { invalidSpecs } from "../../test/support/invalid-specs.ts";
import { readMiniXdr } from "../render/manifest.ts";
import { withDefaults } from "./minixdr.ts";

const examples = join(import.meta.dirname, "../../examples");

/** The field the API server's message names, as the operator's own message names it (spec.a.b[0].c, or spec.a.b). */
function fieldOf(apiMessage: RegExp): string {
  const m = /(spec(?:\\\.[A-Za-z]+|\\\[\d\\\])+)/.exec(apiMessage.source);
  if (!m) throw new Error(`no field in ${apiMessage.source}`);
  return m[1]!.replaceAll("\\.", ".").replaceAll("\\[", "[").replaceAll("\\]", "]");
}

describe("the MiniXdr rules, in memory", () => {
  it.each(invalidSpecs)("refuses %s, naming the field the API server names", (_what, spec, apiMessage) => {
    const field = fieldOf(apiMessage);
    let message = "";
    try {
      withDefaults(spec as never);
    } catch (err) {
      message = (err as Error).message;
    }
    // zod writes array items as .0, the API server as [0].
    expect(message.replaceAll(/\.(\d+)(?=\.|:)/g, "[$1]")).toContain(`${field}`);
  });

  // What a HorizontalPodAutoscaler can measure: the default resources request cpu and memory, a limit alone becomes the request.
  it.each([
    ["the default resources", {}],
    ["a CPU limit only", { resources: { limits: { cpu: 2, memory: "1Gi" } } }],
    ["a CPU request", { resources: { requests: { cpu: "500m" }, limits: { memory: "1Gi" } } }],
    ["a memory target with a memory limit only", { resources: { limits: { memory: "1Gi" } }, autoscaling: { targetMemoryUtilizationPercentage: 75 } }],
    ["both targets with both requests", { resources: { requests: { cpu: "250m", memory: "256Mi" } }, autoscaling: { targetCPUUtilizationPercentage: 60, targetMemoryUtilizationPercentage: 75 } }],
  ])("accepts autoscaling with %s", (_what, detector) => {
    const pg = { type: "postgres" as const, postgres: { urlSecretRef: { name: "db", key: "url" } } };
    expect(() => withDefaults({ storage: pg, detector: { ...detector, autoscaling: { enabled: true, ...(detector as { autoscaling?: object }).autoscaling } } })).not.toThrow();
    // Without autoscaling, resources without requests stay allowed.
    expect(() => withDefaults({ detector: { resources: { limits: { memory: "1Gi" } } } })).not.toThrow();
  });

  it.each(readdirSync(examples).filter((f) => f.endsWith(".yaml")))("accepts the example %s", (file) => {
    expect(() => withDefaults(readMiniXdr(readFileSync(join(examples, file), "utf8")).spec)).not.toThrow();
  });
});
