// The operator renders what the detector and console read (docs/contracts.md): checked with their own parsers.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import bcrypt from "bcryptjs";
import { afterAll, describe, expect, it } from "vitest";
import { parseDetectorConfig, type DetectionConfig } from "../../detector/config/detectorConfig.ts";
import { loadDetectorSecrets } from "../../detector/config/detectorSecrets.ts";
import { detectionSchema } from "../../operator/api/minixdr.ts";
import { quantityValue } from "../../operator/api/quantity.ts";
import { readMiniXdr } from "../../operator/render/manifest.ts";
import { render } from "../../operator/render/render.ts";
import { generatedSecretData } from "../../operator/controller/generated-secret.ts";

const root = join(import.meta.dirname, "../..");
const examples = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".yaml"));
const sources = (dir: string): string =>
  readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => readFileSync(join(root, dir, f), "utf8")).join("\n");
const tmp = mkdtempSync(join(tmpdir(), "contract-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("operator → detector contract", () => {
  it.each(examples)("%s: the rendered detector.json is accepted by the detector's own config parser", (file) => {
    const cr = readMiniXdr(readFileSync(join(root, "examples", file), "utf8"));
    const configMap = render(cr).find((c) => c.object.kind === "ConfigMap")!.object;
    const config = parseDetectorConfig(JSON.parse((configMap.data as Record<string, string>)["detector.json"]!), file);
    expect(config.detection.bruteForce.threshold).toBe(cr.spec?.detector?.config?.detection?.bruteForceThreshold ?? 6);
    expect(config.storage.driver).toBe(cr.spec?.storage?.type ?? "sqlite");
    expect(config.storage.eventRetentionDays).toBe(cr.spec?.storage?.eventRetentionDays ?? 30);
  });

  it("docs/contracts.md shows the detector.json the operator renders for a MiniXdr with every default", () => {
    const doc = readFileSync(join(root, "docs/contracts.md"), "utf8");
    const shown = /## Detector configuration[\s\S]*?```json\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(shown, "docs/contracts.md has a json block under 'Detector configuration'").toBeDefined();
    const cr = readMiniXdr("apiVersion: xdr.minixdr.io/v1alpha1\nkind: MiniXdr\nmetadata: {name: xdr}\n");
    const configMap = render(cr).find((c) => c.object.kind === "ConfigMap")!.object;
    expect(JSON.parse(shown!)).toEqual(JSON.parse((configMap.data as Record<string, string>)["detector.json"]!));
  });

  it("every detection setting of a MiniXdr reaches the detector's config, where its rule reads it", () => {
    // Each spec.detector.config.detection field set away from its default, and where the detector must find it.
    const settings: Record<keyof typeof detectionSchema.shape, [value: unknown, read: (c: DetectionConfig) => unknown[]]> = {
      bruteForceThreshold: [9, (c) => [c.bruteForce.threshold]],
      bruteForceWindowSeconds: [120, (c) => [c.bruteForce.windowSeconds]],
      passwordSprayDistinctUsers: [7, (c) => [c.passwordSpray.distinctUsers]],
      portScanDistinctPorts: [33, (c) => [c.portScan.distinctPorts]],
      exfiltrationBytes: [2048, (c) => [c.exfiltration.bytesOut]],
      windowSeconds: [450, (c) => [c.passwordSpray.windowSeconds]],
      portScanWindowSeconds: [60, (c) => [c.portScan.windowSeconds]],
      exfiltrationWindowSeconds: [3600, (c) => [c.exfiltration.windowSeconds]],
      loginAfterFailuresThreshold: [5, (c) => [c.loginAfterFailures.failures]],
      loginAfterFailuresWindowSeconds: [900, (c) => [c.loginAfterFailures.windowSeconds]],
      toolDownloadWindowSeconds: [7200, (c) => [c.toolDownload.windowSeconds]],
      kubernetesWindowSeconds: [1200, (c) => [c.kubernetes.windowSeconds]],
      kubernetesOperatorIdentities: [["system:serviceaccount:security:xdr-operator"], (c) => [c.kubernetes.operatorIdentities]],
      suppressions: [[{ techniques: ["T1046"], sourceCidrs: ["10.0.5.0/24"] }, { namespaces: ["dev"] }], (c) => [c.suppressions]],
      anomalyThreshold: [0.55, (c) => [c.anomalyThreshold]],
    };
    const detection = Object.fromEntries(Object.entries(settings).map(([k, [v]]) => [k, v]));
    const defaults = detectionSchema.parse({}) as Record<string, unknown>;
    for (const [k, [v]] of Object.entries(settings)) expect(v, `${k} differs from its default`).not.toEqual(defaults[k]);
    const cr = readMiniXdr(readFileSync(join(root, "examples", "basic.yaml"), "utf8"));
    cr.spec = { ...cr.spec, detector: { ...cr.spec?.detector, config: { ...cr.spec?.detector?.config, detection } } };
    const configMap = render(cr).find((c) => c.object.kind === "ConfigMap")!.object;
    const config = parseDetectorConfig(JSON.parse((configMap.data as Record<string, string>)["detector.json"]!)).detection;
    for (const [k, [v, read]] of Object.entries(settings)) expect(read(config), k).toEqual(read(config).map(() => v));
  });

  it.each(examples)("%s: every environment variable the operator sets is one its component reads", (file) => {
    const cr = readMiniXdr(readFileSync(join(root, "examples", file), "utf8"));
    for (const d of render(cr).filter((c) => c.object.kind === "Deployment")) {
      const container = (d.object.spec as any).template.spec.containers[0];
      const code = sources(container.name === "detector" ? "detector" : "console");
      for (const { name } of container.env as { name: string }[]) {
        // Node itself reads NODE_OPTIONS: checked below by running node with it.
        if (name !== "NODE_OPTIONS") expect(code, `${container.name} reads ${name}`).toMatch(new RegExp(`\\benv\\.${name}\\b`));
      }
    }
  });

  it.each(examples)("%s: node accepts the detector's NODE_OPTIONS, and its heap fits in the container's memory limit", (file) => {
    const cr = readMiniXdr(readFileSync(join(root, "examples", file), "utf8"));
    const detector = render(cr).find((c) => c.object.kind === "Deployment" && c.object.metadata.name.endsWith("-detector"))!.object;
    const container = (detector.spec as any).template.spec.containers[0];
    const nodeOptions = (container.env as { name: string; value: string }[]).find((e) => e.name === "NODE_OPTIONS")?.value;
    const limitMiB = quantityValue(container.resources.limits.memory as string)! / 2 ** 20;
    const run = spawnSync(process.execPath, ["-e", "console.log(require('node:v8').getHeapStatistics().heap_size_limit)"],
      { env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: "utf8" });
    expect(run.stderr).toBe("");
    // The old generation is half the limit; the young generation (three semi-spaces) stays small beside it, leaving
    // over a third of the limit for what is not heap.
    const heapMiB = Number(run.stdout.trim()) / 2 ** 20;
    expect(heapMiB).toBeGreaterThanOrEqual(limitMiB / 2);
    expect(heapMiB).toBeLessThanOrEqual(limitMiB / 2 + Math.min(48, limitMiB / 16));
  });

  it("the Secret the operator generates is accepted by the detector, which hashes its admin password (bcrypt, cost 12)", async () => {
    const data = generatedSecretData();
    for (const [key, value] of Object.entries(data)) writeFileSync(join(tmp, key), value);
    const config = parseDetectorConfig(JSON.parse((render(readMiniXdr(readFileSync(join(root, "examples/basic.yaml"), "utf8")))
      .find((c) => c.object.kind === "ConfigMap")!.object.data as Record<string, string>)["detector.json"]!));
    const secrets = await loadDetectorSecrets(tmp, config);
    expect(data).not.toHaveProperty("admin-password-hash");
    const hash = await secrets.firstAdmin!.passwordHash();
    expect(hash).toMatch(/^\$2[aby]\$12\$/);
    expect(await bcrypt.compare(data["admin-password"]!, hash)).toBe(true);
    expect(data["jwt-signing-key"]!.length).toBeGreaterThanOrEqual(32);
  });
});
