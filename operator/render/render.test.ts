import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readMiniXdr, toYaml } from "./manifest.ts";
import { render } from "./render.ts";

const examples = join(import.meta.dirname, "../../examples");
const testdata = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";

describe("golden renderings of every example", () => {
  const files = readdirSync(examples).filter((f) => f.endsWith(".yaml"));
  it("covers basic, staging and production", () => {
    expect(files.sort()).toEqual(expect.arrayContaining(["basic.yaml", "production.yaml", "staging.yaml"]));
  });
  it.each(files)("%s renders exactly its golden file (UPDATE_GOLDEN=1 to accept a change)", (file) => {
    const rendered = toYaml(render(readMiniXdr(readFileSync(join(examples, file), "utf8"))));
    const golden = join(testdata, file.replace(/\.yaml$/, ".golden.yaml"));
    if (update) writeFileSync(golden, rendered);
    expect(rendered).toBe(readFileSync(golden, "utf8"));
  });
});
