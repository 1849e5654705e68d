// A rotated Secret (an ExternalSecret syncing a new value, an edited existing Secret) reaches a running detector:
// the kubelet swaps the mounted files, the detector reads them again and uses the new values without a restart.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { hashPassword, passwordThreadRunning, setPasswordThreadIdleMs } from "../auth/passwordHashing.ts";
import type { RunningDetector } from "../detector.ts";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import { adminPassword, api, ingestTokens, jwtSigningKey, login, post, rotateSecret, spawnDetector, startTestDetector, writeDetectorFiles, writeDetectorFilesOnFreePorts, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import { usePostgres } from "../../test/support/postgres.ts";
import { loadDetectorSecrets, type DetectorSecrets } from "./detectorSecrets.ts";
import { SecretsWatcher, secretsFingerprint } from "./secretsWatcher.ts";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const postgres = await usePostgres("secrets");
const newIngestToken = "ingest-rotated-5b1e9d7c3a2f8e60";
const newSigningKey = "rotated-signing-key-fedcba9876543210fedcba98";
const oneEvent = () => JSON.stringify(cowrie.loginFailed({ srcIp: "203.0.113.9", session: "rot01" }, Math.floor(Math.random() * 1e6), "root", "pw"));

describe("SecretsWatcher", () => {
  let files: DetectorFiles;
  let watcher: SecretsWatcher | undefined;
  beforeAll(async () => {
    files = await writeDetectorFiles();
  });
  afterAll(() => files?.remove());
  afterEach(async () => watcher?.stop());

  async function watch(onChange: (s: DetectorSecrets) => Promise<void>, onInvalid: (err: Error) => void = () => undefined): Promise<SecretsWatcher> {
    watcher = new SecretsWatcher({ dir: files.secretsDir, config: files.config, fingerprint: await secretsFingerprint(files.secretsDir), onChange, onInvalid });
    return watcher;
  }

  it("hands over the new values after the kubelet swaps the files, and nothing while they stay the same", async () => {
    const seen: DetectorSecrets[] = [];
    const w = await watch((s) => Promise.resolve(void seen.push(s)));
    await w.check();
    expect(seen).toEqual([]);
    await rotateSecret(files.secretsDir, { "ingest-token": newIngestToken });
    await w.check();
    expect(seen).toHaveLength(1);
    expect([...seen[0]!.ingestTokens]).toEqual([[newIngestToken, "default"]]);
    expect(seen[0]!.jwtSigningKey).toBe(jwtSigningKey);
    await w.check();
    expect(seen).toHaveLength(1);
  });

  it("reports an invalid set once and keeps quiet until the files change again", async () => {
    const seen: DetectorSecrets[] = [];
    const invalid: string[] = [];
    const w = await watch((s) => Promise.resolve(void seen.push(s)), (err) => invalid.push(err.message));
    await rotateSecret(files.secretsDir, { "jwt-signing-key": "too-short" });
    await w.check();
    await w.check();
    expect(invalid).toEqual(["secret jwt-signing-key: must be at least 32 bytes"]);
    expect(seen).toEqual([]);
    await rotateSecret(files.secretsDir, { "jwt-signing-key": newSigningKey });
    await w.check();
    expect(seen.map((s) => s.jwtSigningKey)).toEqual([newSigningKey]);
  });

  it("hands the same values over again when taking them failed", async () => {
    let attempts = 0;
    const w = await watch(() => (++attempts === 1 ? Promise.reject(new Error("store unavailable")) : Promise.resolve()));
    await rotateSecret(files.secretsDir, { "ingest-token": `${newIngestToken}-2` });
    await w.check();
    await w.check();
    await w.check();
    expect(attempts).toBe(2);
  });

  it("checks on its own every intervalMs once started", async () => {
    const seen: DetectorSecrets[] = [];
    watcher = new SecretsWatcher({ dir: files.secretsDir, config: files.config, fingerprint: await secretsFingerprint(files.secretsDir), intervalMs: 20, onChange: (s) => Promise.resolve(void seen.push(s)), onInvalid: () => undefined });
    watcher.start();
    await rotateSecret(files.secretsDir, { "ingest-token": `${newIngestToken}-3` });
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 5_000, interval: 20 });
  });
});

describe("a running detector", () => {
  let files: DetectorFiles;
  let detector: RunningDetector;
  const restarts: string[] = [];
  beforeAll(async () => {
    files = await writeDetectorFiles();
    detector = await startTestDetector(files, {
      secretsReload: { dir: files.secretsDir, fingerprint: await secretsFingerprint(files.secretsDir), intervalMs: 50 },
      onRestartNeeded: (reason) => restarts.push(reason),
    });
  });
  afterAll(async () => {
    await detector?.close();
    await files?.remove();
  });
  const metric = async (name: string) => new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(detector.metricsUrl)).text())?.[1];
  const reloads = async (result: string) => Number(new RegExp(`minixdr_secret_reloads_total\\{result="${result}"\\} (\\d+)`).exec(await (await fetch(detector.metricsUrl)).text())?.[1] ?? 0);
  const ingest = (token: string) => post(`${detector.url}/api/v1/ingest/cowrie`, oneEvent(), token).then((r) => r.status);

  it("takes a rotated ingest token, signing key and admin password without a restart", async () => {
    const { token: oldApiToken } = await login(detector.url, "admin", adminPassword);
    expect(await ingest(ingestTokens.default)).toBe(200);
    const newPassword = "Rotated-Staple-Horse-42";
    await rotateSecret(files.secretsDir, {
      "ingest-token": `default=${newIngestToken}\nacme=${ingestTokens.acme}\n`,
      "jwt-signing-key": newSigningKey,
      "admin-password-hash": await hashPassword(newPassword),
      "database-url": "postgres://unused.example/minixdr",
    });
    await vi.waitFor(async () => expect(await ingest(newIngestToken)).toBe(200), { timeout: 10_000, interval: 50 });
    expect(await ingest(ingestTokens.default)).toBe(401);
    expect(await ingest(ingestTokens.acme)).toBe(200);
    // Tokens signed with the earlier key are refused; the admin signs in with the Secret's new password.
    expect((await api(`${detector.url}/api/v1/incidents`, oldApiToken)).status).toBe(401);
    expect((await login(detector.url, "admin", adminPassword)).status).toBe(401);
    const fresh = await login(detector.url, "admin", newPassword);
    expect(fresh.status).toBe(200);
    expect((await api(`${detector.url}/api/v1/incidents`, fresh.token)).status).toBe(200);
    expect(await reloads("applied")).toBe(1);
    // SQLite does not read database-url: changing it asks for no restart.
    expect(restarts).toEqual([]);
  });

  it("keeps the values in use when the new ones are invalid, and says so in a metric", async () => {
    await rotateSecret(files.secretsDir, { "ingest-token": "short" });
    await vi.waitFor(async () => expect(await reloads("invalid")).toBe(1), { timeout: 10_000, interval: 50 });
    expect(await metric("minixdr_secret_rejected")).toBe("1");
    expect(await ingest(newIngestToken)).toBe(200);
    expect(await ingest("short")).toBe(401);
    // Corrected: taken, and the alert's gauge goes back to 0.
    await rotateSecret(files.secretsDir, { "ingest-token": `${newIngestToken}-fixed` });
    await vi.waitFor(async () => expect(await ingest(`${newIngestToken}-fixed`)).toBe(200), { timeout: 10_000, interval: 50 });
    expect(await metric("minixdr_secret_rejected")).toBe("0");
    expect(await reloads("applied")).toBe(2);
  });
});

describe("a generated Secret's admin-password", () => {
  it("is hashed (bcrypt, on the password thread) at the first start only, not at every start", async () => {
    const files = await writeDetectorFiles();
    setPasswordThreadIdleMs(50);
    let detector: RunningDetector | undefined;
    try {
      // As the operator generates it: the password itself, no hash.
      await rotateSecret(files.secretsDir, { "admin-password-hash": undefined, "admin-password": "Generated-Pass-0123456789" });
      detector = await startTestDetector(files);
      expect((await login(detector.url, "admin", "Generated-Pass-0123456789")).status).toBe(200);
      await detector.close();
      await expect.poll(() => passwordThreadRunning(), { timeout: 5_000, interval: 20 }).toBe(false);
      // A thread started now would stay up for a minute: the check below cannot miss it.
      setPasswordThreadIdleMs(60_000);
      detector = await startTestDetector(files);
      // The value was applied before: the second start provisions nothing, so nothing was hashed.
      expect(passwordThreadRunning()).toBe(false);
      expect((await login(detector.url, "admin", "Generated-Pass-0123456789")).status).toBe(200);
    } finally {
      setPasswordThreadIdleMs(10_000);
      await detector?.close();
      await files.remove();
    }
  });
});

describe.skipIf(postgres.unavailable !== "")("a detector process on PostgreSQL", () => {
  it("stops (for the kubelet to restart it) when database-url is rotated, so the store opens with the new URL", async () => {
    const files = await writeDetectorFilesOnFreePorts({ storage: { driver: "postgres", path: "/unused" }, databaseUrl: postgres.url });
    let detector: Awaited<ReturnType<typeof spawnDetector>> | undefined;
    try {
      detector = await spawnDetector(files, { MINIXDR_SECRETS_RELOAD_SECONDS: "0.1" });
      expect(await post(`${detector.url}/api/v1/ingest/cowrie`, oneEvent(), ingestTokens.default).then((r) => r.status)).toBe(200);
      const rotated = new URL(postgres.url);
      rotated.searchParams.set("application_name", "minixdr-rotated");
      await rotateSecret(files.secretsDir, { "database-url": rotated.toString() });
      expect(await detector.exited).toBe(0);
      expect(detector.output()).toMatch(/secret database-url changed/);
      // The next start uses the new URL.
      expect((await loadDetectorSecrets(files.secretsDir, files.config)).databaseUrl).toBe(rotated.toString());
    } finally {
      if (detector?.child.exitCode === null) detector.child.kill("SIGKILL");
      await files.remove();
    }
  });
});

describe("the detector process", () => {
  it("refuses a reload interval that is not a number of seconds", async () => {
    const files = await writeDetectorFilesOnFreePorts();
    try {
      await expect(spawnDetector(files, { MINIXDR_SECRETS_RELOAD_SECONDS: "soon" })).rejects.toThrow(/MINIXDR_SECRETS_RELOAD_SECONDS must be a number of seconds/);
    } finally {
      await files.remove();
    }
  });
});
