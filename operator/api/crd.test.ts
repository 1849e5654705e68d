import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { miniXdrCrd } from "./crd.ts";
import { renderGeneratedFiles } from "./generated-files.ts";
import { withDefaults } from "./minixdr.ts";

const root = join(import.meta.dirname, "../..");

describe("generated CRD and RBAC", () => {
  it.each(Object.entries(renderGeneratedFiles()))("%s matches the schema (run `npm run generate` after changing it)", (file, content) => {
    expect(readFileSync(join(root, file), "utf8")).toBe(content);
  });

  it("keeps defaults out of the CRD so GitOps tools see no diffs, but documents them", () => {
    const text = renderGeneratedFiles()["crds/xdr.minixdr.io_minixdrs.yaml"]!;
    const crd = parse(text) as { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } };
    const schemaText = JSON.stringify(crd.spec.versions[0]!.schema.openAPIV3Schema);
    expect(schemaText).not.toContain('"default"');
    expect(schemaText).toContain("Defaults to 6.");
  });
});

describe("label keys and values (Kubernetes' qualified names and label values)", () => {
  const goodKeys = ["app", "app.kubernetes.io/name", "Tier_1.x", "a", `${"p".repeat(253)}/${"n".repeat(63)}`, "x-y"];
  const badKeys = ["bad key!", "-a", "a-", "Example.com/name", "/name", "a/b/c", "n".repeat(64), `example.com/${"n".repeat(64)}`, `${"p".repeat(254)}/n`, "k".repeat(20_000)];

  it.each(goodKeys)("accepts the key %s in memory", (key) => {
    expect(withDefaults({ detector: { nodeSelector: { [key]: "v" } } }).detector.nodeSelector).toEqual({ [key]: "v" });
  });

  it.each(badKeys)("refuses the key %s in memory", (key) => {
    expect(() => withDefaults({ networkPolicy: { ingress: { podSelector: { [key]: "v" } } } })).toThrow(/spec\.networkPolicy\.ingress\.podSelector/);
  });

  it.each(["", "v", "A-b_c.D", "v".repeat(63)])("accepts the value %j", (value) => {
    expect(() => withDefaults({ detector: { nodeSelector: { k: value } } })).not.toThrow();
  });

  it.each(["-v", "v.", "a b", "v".repeat(64)])("refuses the value %j", (value) => {
    expect(() => withDefaults({ detector: { nodeSelector: { k: value } } })).toThrow(/spec\.detector\.nodeSelector\.k/);
  });

  it("checks keys on the API server with the same pattern it checks them with in memory", () => {
    const crd = JSON.stringify(miniXdrCrd());
    const rules = [...crd.matchAll(/self\.all\(k, k\.matches\('([^']+)'\)/g)].map((m) => m[1]);
    expect(rules.length).toBeGreaterThan(0);
    for (const pattern of rules) {
      const re = new RegExp(pattern!);
      for (const key of goodKeys) expect(re.test(key) && (!key.includes("/") || key.indexOf("/") <= 253)).toBe(true);
      for (const key of badKeys) expect(re.test(key) && (!key.includes("/") || key.indexOf("/") <= 253)).toBe(false);
    }
  });
});

describe("container resource names (Kubernetes' validateContainerResourceName)", () => {
  it.each(["cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "nvidia.com/gpu", "example.com/foo"])("accepts %s in memory", (name) => {
    // With memory beside it: hugepages need cpu or memory as well (a rule the API server and the operator both check).
    expect(() => withDefaults({ detector: { resources: { limits: { memory: "1Gi", [name]: "1" } } } })).not.toThrow();
  });

  it.each(["gpu", "memroy", "hugepages-huge", "Nvidia_com/gpu", "requests.example.com/foo", "a/b/c"])("refuses %s in memory", (name) => {
    expect(() => withDefaults({ detector: { resources: { limits: { [name]: "1" } } } })).toThrow(/spec\.detector\.resources\.limits/);
  });
});

describe("the SQLite volume", () => {
  it.each(["0", "0.0Gi", "0e3"])("refuses the size %s in memory", (size) => {
    expect(() => withDefaults({ storage: { sqlite: { size } } })).toThrow(/spec\.storage\.sqlite\.size: must be greater than zero/);
  });

  it.each(["", "standard", "fast-ssd.example.com"])("accepts the storage class %j", (storageClassName) => {
    expect(withDefaults({ storage: { sqlite: { storageClassName } } }).storage.sqlite.storageClassName).toBe(storageClassName);
  });

  it.each(["Not_Valid", "-x", "a..b"])("refuses the storage class %s", (storageClassName) => {
    expect(() => withDefaults({ storage: { sqlite: { storageClassName } } })).toThrow(/spec\.storage\.sqlite\.storageClassName/);
  });
});

describe("image references (distribution/reference grammar)", () => {
  it.each(["ghcr.io/team__x/minixdr:1", "ghcr.io/a--b/minixdr:1", "Registry.Example.com/minixdr:1", "minixdr", `[::1]:5000/x@sha256:${"a".repeat(64)}`])("accepts %s", (image) => {
    expect(withDefaults({ detector: { image } }).detector.image).toBe(image);
  });

  it.each(["my image:latest", "ghcr.io/Team/minixdr:1", "ghcr.io/a_-b/x", "ghcr.io/x:", "ghcr.io/x@sha256:abc", "-x"])("refuses %s", (image) => {
    expect(() => withDefaults({ detector: { image } })).toThrow(/spec\.detector\.image/);
  });

  it("refuses a long near-miss quickly (no catastrophic backtracking)", () => {
    const start = performance.now();
    for (const image of [`${"a-".repeat(250)}!`, `${"a.".repeat(250)}/`, `${"a__".repeat(170)}A`]) {
      expect(() => withDefaults({ detector: { image } })).toThrow(/spec\.detector\.image/);
    }
    expect(performance.now() - start).toBeLessThan(500);
  });
});
