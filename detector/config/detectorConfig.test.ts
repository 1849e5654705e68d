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
/** The example as a person would write it: without the operator's mark, checked strictly. */
const { writtenBy: _writtenBy, ...handWritten } = contractExample;

describe("detector config", () => {
  it("accepts the contract's example as written", () => {
    const config = parseDetectorConfig(contractExample);
    expect(config.detection.bruteForce).toEqual({ threshold: 6, windowSeconds: 60 });
    expect(config.storage).toEqual({ driver: "sqlite", path: "/var/lib/minixdr/minixdr.db", eventRetentionDays: 30 });
    expect(config.detection.loginAfterFailures).toEqual({ failures: 3, windowSeconds: 600 });
  });

  it("names an unknown key, at any depth", () => {
    expect(() => parseDetectorConfig({ ...handWritten, detection: { bruteForce: { threshold: 6, windowSecs: 60 } } }))
      .toThrow(/unknown key "detection.bruteForce.windowSecs"/);
    expect(() => parseDetectorConfig({ ...handWritten, replicas: 3 })).toThrow(/unknown key "replicas"/);
  });

  it("in a file the operator wrote, leaves out keys it does not know (a newer operator's) and says which; a bad value is still refused", () => {
    const newer = {
      ...contractExample, writtenBy: "minixdr-operator", replicas: 3,
      detection: { ...(contractExample.detection as object), bruteForce: { threshold: 4, windowSeconds: 60, perUser: true }, suppressions: [{ actors: ["backup"], until: "2027-01-01" }] },
    };
    const ignored: string[][] = [];
    const config = parseDetectorConfig(newer, "detector.json", (keys) => ignored.push(keys));
    expect(ignored).toEqual([["replicas", "detection.bruteForce.perUser", "detection.suppressions.0.until"].sort()].map((k) => expect.arrayContaining(k)));
    expect(ignored[0]).toHaveLength(3);
    // What it knows is taken as written.
    expect(config.detection.bruteForce).toEqual({ threshold: 4, windowSeconds: 60 });
    expect(config.detection.suppressions).toEqual([{ actors: ["backup"] }]);
    // Without the mark: refused as before. With it, a known key's bad value too.
    const { writtenBy: _, ...byHand } = newer;
    expect(() => parseDetectorConfig(byHand)).toThrow(/unknown key "replicas"/);
    expect(contractExample.writtenBy).toBe("minixdr-operator");
    expect(() => parseDetectorConfig({ ...newer, containment: { mode: "quarantine" } })).toThrow(/"containment.mode"/);
    expect(() => parseDetectorConfig({ ...contractExample, writtenBy: "someone" })).toThrow(/"writtenBy"/);
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
    await writeFile(files.configFile, JSON.stringify({ ...handWritten, detection: { bruteForce: { treshold: 6 } } }));
    const run = spawnSync(process.execPath, [join(repoRoot, "detector/main.ts")], {
      env: { ...process.env, MINIXDR_CONFIG_FILE: files.configFile, MINIXDR_SECRETS_DIR: files.secretsDir }, encoding: "utf8", timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown key "detection.bruteForce.treshold"');
  });

  it("starts on a file a newer operator wrote, with a warning naming the keys it ignores", async () => {
    const own = await writeDetectorFilesOnFreePorts();
    await writeFile(own.configFile, JSON.stringify({ ...own.config, writtenBy: "minixdr-operator", detection: { ...own.config.detection, futureRule: { windowSeconds: 60 } } }));
    const detector = await spawnDetector(own);
    try {
      await vi.waitFor(() => expect(detector.output()).toMatch(/"keys":\["detection\.futureRule"\].*config: keys this detector does not know are ignored/), { timeout: 30_000, interval: 200 });
      await vi.waitFor(async () => expect((await fetch(`${detector.url}/healthz`)).status).toBe(200), { timeout: 30_000, interval: 200 });
    } finally {
      detector.child.kill("SIGTERM");
      await detector.exited;
      await own.remove();
    }
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
