// The config and Secret the operator renders (docs/contracts.md) are read as the contract says; mistakes stop start-up by name.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { get } from "node:https";
import { TestPki } from "../../test/controlplane/pki.ts";
import { repoRoot, spawnDetector, writeDetectorFiles, writeDetectorFilesOnFreePorts, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import { ConfigError, parseDetectorConfig } from "./detectorConfig.ts";
import { parseIngestTokens } from "./detectorSecrets.ts";

// bcrypt at cost 12 and child processes are slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const contractExample = JSON.parse(/```json\n([\s\S]*?)```/.exec(readFileSync(join(repoRoot, "docs/contracts.md"), "utf8"))![1]!) as Record<string, unknown>;

describe("detector config", () => {
  it("accepts the contract's example as written", () => {
    const config = parseDetectorConfig(contractExample);
    expect(config.detection.bruteForce).toEqual({ threshold: 6, windowSeconds: 60 });
    expect(config.storage).toEqual({ driver: "sqlite", path: "/var/lib/minixdr/minixdr.db", eventRetentionDays: 30 });
    expect(config.detection.loginAfterFailures).toEqual({ failures: 3, windowSeconds: 600 });
  });

  it("names an unknown key, at any depth", () => {
    expect(() => parseDetectorConfig({ ...contractExample, detection: { bruteForce: { threshold: 6, windowSecs: 60 } } }))
      .toThrow(/unknown key "detection.bruteForce.windowSecs"/);
    expect(() => parseDetectorConfig({ ...contractExample, replicas: 3 })).toThrow(/unknown key "replicas"/);
  });

  it("takes suppressions that name what they cover, and refuses one that names nothing, a bad CIDR or a bad technique", () => {
    const withSuppressions = (suppressions: unknown) => parseDetectorConfig({ ...contractExample, detection: { suppressions } });
    expect(withSuppressions([{ techniques: ["T1046"], sourceCidrs: ["10.0.5.0/24", "2001:db8::/32"] }]).detection.suppressions)
      .toEqual([{ techniques: ["T1046"], sourceCidrs: ["10.0.5.0/24", "2001:db8::/32"] }]);
    expect(() => withSuppressions([{}])).toThrow(/"detection.suppressions.0".*at least one of techniques/);
    expect(() => withSuppressions([{ sourceCidrs: ["10.0.5.0/33"] }])).toThrow(/"detection.suppressions.0.sourceCidrs.0"/);
    expect(() => withSuppressions([{ techniques: ["port-scan"] }])).toThrow(/"detection.suppressions.0.techniques.0"/);
  });

  it("names a bad value", () => {
    expect(() => parseDetectorConfig({ ...contractExample, storage: { driver: "mysql" } })).toThrow(ConfigError);
    expect(() => parseDetectorConfig({ ...contractExample, storage: { driver: "mysql" } })).toThrow(/"storage.driver"/);
    expect(() => parseDetectorConfig({ ...contractExample, detection: { anomalyThreshold: 2 } })).toThrow(/"detection.anomalyThreshold"/);
  });

  it("refuses tenants without default, whose first admin could never log in, and a repeated tenant", () => {
    expect(parseDetectorConfig({ ...contractExample, tenants: ["default", "payments"] }).tenants).toEqual(["default", "payments"]);
    expect(() => parseDetectorConfig({ ...contractExample, tenants: ["payments"] })).toThrow(/"tenants".*must include default/);
    expect(() => parseDetectorConfig({ ...contractExample, tenants: ["default", "a", "a"] })).toThrow(/"tenants".*must not repeat a tenant/);
  });
});

describe("ingest tokens", () => {
  it("reads a bare token as tenant default, even with base64 padding", () => {
    expect([...parseIngestTokens("dGhpcy1pcy1hLXRva2VuLXZhbHVl==\n", ["default"])]).toEqual([["dGhpcy1pcy1hLXRva2VuLXZhbHVl==", "default"]]);
  });

  it("reads tenant=token lines and refuses unknown tenants and short tokens", () => {
    expect(parseIngestTokens("default=aaaaaaaaaaaaaaaa1\nacme=bbbbbbbbbbbbbbbb2", ["default", "acme"]).get("bbbbbbbbbbbbbbbb2")).toBe("acme");
    expect(() => parseIngestTokens("default=aaaaaaaaaaaaaaaa1\nother=bbbbbbbbbbbbbbbb2", ["default"])).toThrow(/tenant "other" is not in the config's tenants/);
    expect(() => parseIngestTokens("short", ["default"])).toThrow(/at least 16 characters/);
    // A lone line for a tenant removed from the config is refused as such, not taken as default's token "acme=...".
    expect(() => parseIngestTokens("acme=ingest-acme-88c1d0e4b2a7f3c9\n", ["default"])).toThrow(/tenant "acme" is not in the config's tenants/);
    expect([...parseIngestTokens("ABCD=efgh-ijkl-mnop-qrst\n", ["default"])]).toEqual([["ABCD=efgh-ijkl-mnop-qrst", "default"]]);
  });
});

describe("start-up", () => {
  let files: DetectorFiles;
  afterAll(() => files?.remove());

  it("stops with a message naming the bad key", async () => {
    files = await writeDetectorFiles();
    await writeFile(files.configFile, JSON.stringify({ ...contractExample, detection: { bruteForce: { treshold: 6 } } }));
    const run = spawnSync(process.execPath, [join(repoRoot, "detector/main.ts")], {
      env: { ...process.env, MINIXDR_CONFIG_FILE: files.configFile, MINIXDR_SECRETS_DIR: files.secretsDir }, encoding: "utf8", timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown key "detection.bruteForce.treshold"');
  });

  it("stops when the Secret lacks the signing key", async () => {
    files ??= await writeDetectorFiles();
    await writeFile(files.configFile, JSON.stringify(contractExample));
    const run = spawnSync(process.execPath, [join(repoRoot, "detector/main.ts")], {
      env: { ...process.env, MINIXDR_CONFIG_FILE: files.configFile, MINIXDR_SECRETS_DIR: join(files.dir, "no-such-dir") }, encoding: "utf8", timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/secret jwt-signing-key: missing/);
  });
});

describe("TLS", () => {
  let files: DetectorFiles;
  afterAll(() => files?.remove());

  it("serves https with MINIXDR_TLS_CERT_FILE and MINIXDR_TLS_KEY_FILE, and refuses only one of them", async () => {
    files = await writeDetectorFilesOnFreePorts();
    const pki = await TestPki.create(files.dir);
    const serving = await pki.serving("detector");
    const half = spawnSync(process.execPath, [join(repoRoot, "detector/main.ts")], {
      env: { ...process.env, MINIXDR_CONFIG_FILE: files.configFile, MINIXDR_SECRETS_DIR: files.secretsDir, MINIXDR_TLS_CERT_FILE: serving.cert }, encoding: "utf8", timeout: 30_000,
    });
    expect(half.status).toBe(2);
    expect(half.stderr).toMatch(/MINIXDR_TLS_CERT_FILE and MINIXDR_TLS_KEY_FILE must be set together/);

    const detector = await spawnDetector(files, { MINIXDR_TLS_CERT_FILE: serving.cert, MINIXDR_TLS_KEY_FILE: serving.key });
    try {
      const ca = readFileSync(pki.ca.cert);
      const status = await new Promise<number>((resolve, reject) => get(`${detector.url}/healthz`, { ca }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on("error", reject));
      expect(detector.url).toMatch(/^https:/);
      expect(status).toBe(200);
    } finally {
      detector.child.kill("SIGTERM");
      await detector.exited;
    }
  });
});
