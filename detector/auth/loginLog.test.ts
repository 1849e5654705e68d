// What a refused login writes to the log: a name that is no account may be a password typed into the wrong field, so
// it is logged as the store keeps it (a digest), never as typed; an account's name is logged as it is.
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { jwtSigningKey, login, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import type { RunningDetector } from "../detector.ts";
import { createHash } from "node:crypto";
import { Accounts } from "./accounts.ts";
import { ApiTokens } from "./apiTokens.ts";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let files: DetectorFiles;
let detector: RunningDetector;
let logged = "";

beforeAll(async () => {
  files = await writeDetectorFiles();
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((logged += chunk.toString()), done()) });
  detector = await startTestDetector(files, { logger: pino({ level: "debug" }, sink) });
});
afterAll(async () => {
  await detector?.close();
  await files?.remove();
});

describe("refused logins in the log", () => {
  it("never writes a name that is no account as typed (it may be the password), only its digest; an account's name as it is", async () => {
    const password = "Tr0ub4dor-and-3-horses";
    expect((await login(detector.url, password, "x")).status).toBe(401);
    // A tenant that is not served is refused before any account is looked up.
    expect((await login(detector.url, `${password}!`, "x", "gone")).status).toBe(401);
    expect((await login(detector.url, "admin", "not-the-password")).status).toBe(401);
    const lines = logged.split("\n").filter((l) => l.includes("login refused")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(logged).not.toContain(password);
    // The digest is keyed with the Secret's signing key: nobody without it can test guesses against it.
    const digest = (name: string) => new Accounts(detector.repository, new ApiTokens(jwtSigningKey)).nameDigest(name);
    expect(lines[0]).toMatchObject({ tenant: "default", nameDigest: digest(password), reason: "invalid-credentials" });
    expect(lines[1]).toMatchObject({ tenant: "gone", nameDigest: digest(`${password}!`) });
    expect(lines[0]!.nameDigest).not.toBe(createHash("sha256").update(password).digest("base64url"));
    expect(new Accounts(detector.repository, new ApiTokens("another-signing-key-0123456789abcdef0123")).nameDigest(password)).not.toBe(lines[0]!.nameDigest);
    expect(lines[2]).toMatchObject({ tenant: "default", username: "admin", reason: "invalid-credentials" });
  });
});
