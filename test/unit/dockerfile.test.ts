// The Dockerfile's promises, checked without a Docker engine: multi-stage, production dependencies only, uid 1000,
// OCI labels, the entrypoint and its commands, the ONNX model inside, and a build context (.dockerignore) that holds
// every file the entrypoints import and no tests.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { builtinModules } from "node:module";
import { dirname, join, matchesGlob, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = join(import.meta.dirname, "../..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string; license: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM\s/i.test(line)) stages.push([]);
  stages.at(-1)?.push(line);
}
const final = stages.at(-1) ?? [];
const args = Object.fromEntries(instructions.filter((l) => /^ARG\s/.test(l)).map((l) => l.slice(4).split("=") as [string, string]));

/** Files of the repository that `COPY . .` sends, by .dockerignore's rules (last matching pattern wins; a pattern matches a path or a parent of it). */
function buildContext(): string[] {
  const patterns = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    .map((p) => ({ exclude: !p.startsWith("!"), glob: normalize(p.replace(/^!/, "")).replace(/\/$/, "") }));
  const included = (file: string) => {
    let keep = true;
    const parts = file.split("/");
    for (const p of patterns) {
      for (let i = 1; i <= parts.length; i++) if (matchesGlob(parts.slice(0, i).join("/"), p.glob)) keep = !p.exclude;
    }
    return keep;
  };
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (rel === ".git" || rel === "node_modules") continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (included(rel)) out.push(rel);
    }
  };
  walk(root);
  return out;
}

describe("Dockerfile", () => {
  it("builds in stages on an official Node 24 image, installing production dependencies only", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const image = (args.NODE_IMAGE ?? "").replace(/^"|"$/g, "");
    expect(image).toMatch(/^node:24[-.\w]*$/);
    for (const s of stages) expect(s[0]).toMatch(/^FROM\s+(\$\{NODE_IMAGE\}|node:24\S*)(\s+AS\s+\w+)?$/i);
    const install = instructions.filter((l) => /npm\s+(ci|install)\b/.test(l));
    expect(install).toHaveLength(1);
    expect(install[0]).toMatch(/npm ci\b.*--omit=dev/);
    expect(final.some((l) => /npm\s+(ci|install)/.test(l)), "no install in the runtime stage").toBe(false);
    expect(final.some((l) => /^COPY\s+--from=deps\s+\/app\/node_modules\s/.test(l))).toBe(true);
    // The node devDependency (Node 24 for development) and the tooling never reach the image.
    expect(pkg.devDependencies).toHaveProperty("node");
    expect(pkg.dependencies).not.toHaveProperty("node");
  });

  it("keeps only the onnxruntime-node native library of the platform it is built for (its RUN, run here on the package's layout)", () => {
    const prune = instructions.find((l) => /^RUN\s.*napi-v6/.test(l));
    expect(prune, "a RUN that prunes onnxruntime-node/bin/napi-v6").toBeDefined();
    const layout = readdirSync(join(root, "node_modules/onnxruntime-node/bin/napi-v6")).flatMap((p) => readdirSync(join(root, "node_modules/onnxruntime-node/bin/napi-v6", p)).map((a) => `${p}/${a}`));
    expect(layout).toEqual(expect.arrayContaining(["darwin/arm64", "linux/arm64", "linux/x64", "win32/x64"]));
    for (const [targetArch, kept] of [["amd64", "linux/x64"], ["arm64", "linux/arm64"], [undefined, "linux/x64"]] as const) {
      const app = mkdtempSync(join(tmpdir(), "minixdr-prune-"));
      try {
        for (const d of layout) {
          mkdirSync(join(app, "node_modules/onnxruntime-node/bin/napi-v6", d), { recursive: true });
          writeFileSync(join(app, "node_modules/onnxruntime-node/bin/napi-v6", d, "onnxruntime_binding.node"), "");
        }
        // As Docker runs it: /bin/sh -c in WORKDIR /app, build args as environment variables.
        execFileSync("/bin/sh", ["-c", prune!.replace(/^RUN\s+/, "")], { cwd: app, env: { PATH: process.env.PATH ?? "", ...(targetArch ? { TARGETARCH: targetArch } : {}) } });
        const left = readdirSync(join(app, "node_modules/onnxruntime-node/bin/napi-v6")).flatMap((p) => readdirSync(join(app, "node_modules/onnxruntime-node/bin/napi-v6", p)).map((a) => `${p}/${a}`));
        expect({ targetArch, left }).toEqual({ targetArch, left: [kept] });
      } finally {
        rmSync(app, { recursive: true, force: true });
      }
    }
  });

  it("turns onnxruntime-node's telemetry off", () => {
    expect(final.filter((l) => /^ENV\s/.test(l)).join(" ")).toMatch(/\bORT_DISABLE_TELEMETRY=1\b/);
  });

  it("runs as the non-root uid 1000 from its last instructions on", () => {
    const userAt = final.findIndex((l) => /^USER\s/.test(l));
    expect(final[userAt]).toMatch(/^USER\s+1000(:1000)?$/);
    expect(final.slice(userAt + 1).some((l) => /^(RUN|COPY|ADD|USER)\s/.test(l))).toBe(false);
  });

  it("carries OCI labels that agree with package.json", () => {
    const labels = Object.fromEntries([...final.filter((l) => l.startsWith("LABEL ")).join(" ").matchAll(/(org\.opencontainers\.image\.[a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    for (const key of ["title", "description", "source", "licenses", "version"]) expect(labels[`org.opencontainers.image.${key}`], key).toBeTruthy();
    expect(labels["org.opencontainers.image.licenses"]).toBe(pkg.license);
    expect(labels["org.opencontainers.image.version"]).toBe("${VERSION}");
    expect(args.VERSION).toBe(pkg.version);
  });

  it("starts bin/minixdr.ts, whose commands include operator, detector and console, with operator by default", () => {
    expect(final).toContain('ENTRYPOINT ["node", "bin/minixdr.ts"]');
    expect(final).toContain('CMD ["operator"]');
    const dispatcher = readFileSync(join(root, "bin/minixdr.ts"), "utf8");
    for (const command of ["operator", "detector", "console"]) expect(dispatcher, command).toContain(`case "${command}":`);
    expect(final).toContain("WORKDIR /app");
  });

  it("runs the operator Deployment with the image's entrypoint, node flags added (bench/operator/process.ts reads them from there)", () => {
    const deployment = parse(readFileSync(join(root, "config/manager/deployment.yaml"), "utf8")) as { spec: { template: { spec: { containers: { name: string; command: string[]; args: string[] }[] } } } };
    const operator = deployment.spec.template.spec.containers.find((c) => c.name === "operator")!;
    expect(operator.command[0]).toBe("node");
    expect(operator.command.at(-1)).toBe("bin/minixdr.ts");
    expect(operator.command.slice(1, -1).every((f) => f.startsWith("--"))).toBe(true);
    expect(operator.args[0]).toBe("operator");
  });

  it("ships the ONNX model where the detector looks for it, and every file the entrypoints import", () => {
    const context = new Set(buildContext());
    for (const f of ["package.json", "package-lock.json", ".npmrc", "bin/minixdr.ts", "detector/ml/model.onnx", "detector/ml/model-metadata.json", "crds/xdr.minixdr.io_minixdrs.yaml"]) {
      expect(context.has(f), f).toBe(true);
    }
    // A real model, not a Git LFS pointer; /app/detector/ml/model.onnx is the default path in docs/contracts.md.
    expect(readFileSync(join(root, "detector/ml/model.onnx")).subarray(0, 40).toString()).not.toMatch(/git-lfs/);
    expect(readFileSync(join(root, "docs/contracts.md"), "utf8")).toContain('"path": "/app/detector/ml/model.onnx"');
    expect([...context].filter((f) => /\.test\.ts$|^test\/|^node_modules\/|^\.git\//.test(f))).toEqual([]);

    // Follow imports from the entrypoint: every relative one must be in the context, every package a production dependency.
    const builtins = new Set(builtinModules);
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      expect(context.has(file), `${file} is imported at run time but not in the image`).toBe(true);
      if (!file.endsWith(".ts")) return;
      // `import type` is erased before the code runs (the operator's renderers take client-node's types, never its code).
      const source = readFileSync(join(root, file), "utf8").replace(/^import\s+type\s[^;]*;/gm, "");
      for (const m of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)["']([^"']+)["']/gm)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) visit(relative(root, join(root, dirname(file), spec)));
        else if (!spec.startsWith("node:") && !builtins.has(spec)) packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    };
    visit("bin/minixdr.ts");
    expect(seen.size).toBeGreaterThan(20);
    // And no test support: nothing in the image imports the test runner (it is not installed there).
    expect([...context].filter((f) => f.endsWith(".ts") && /from\s+["']vitest["']/.test(readFileSync(join(root, f), "utf8")))).toEqual([]);
    for (const p of packages) expect(Object.keys(pkg.dependencies), `package ${p}`).toContain(p);
    // The console's static assets, read from disk at run time, are in the context too.
    if (existsSync(join(root, "console/static"))) expect([...context].some((f) => f.startsWith("console/static/"))).toBe(true);
  });
});
