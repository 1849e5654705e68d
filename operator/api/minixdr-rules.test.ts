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

  it.each(readdirSync(examples).filter((f) => f.endsWith(".yaml")))("accepts the example %s", (file) => {
    expect(() => withDefaults(readMiniXdr(readFileSync(join(examples, file), "utf8")).spec)).not.toThrow();
  });
});
