// A real detector (SQLite in a temp dir, seeded through the Cowrie ingest route) and a real console in front of it.
import { pino } from "pino";
import { expect } from "vitest";
import { startConsole, type RunningConsole } from "../../console/main.ts";
import type { RunningDetector } from "../../detector/detector.ts";
import { cowrie } from "../detector/fixtures/cowrieRecords.ts";
import { adminPassword, api, ingestTokens, login, post, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../detector/detectorHarness.ts";

export { adminPassword, api, ingestTokens, login, post } from "../detector/detectorHarness.ts";

export const bruteForceIp = "203.0.113.45";
export const takeoverIp = "198.51.100.7";
/** A Cowrie username is whatever the attacker typed: it reaches the incident summary. */
export const xssUsername = `<img src=x onerror="window.__xss=1">`;
export const viewer = { username: "viewer1", password: "Read-Only-Viewer-42" };
export const analyst = { username: "analyst1", password: "Triage-Analyst-42" };

const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n");

/** Seven failed root logins from one bot, three seconds apart from `start`: one T1110.001 incident. */
export function bruteForceFrom(srcIp: string, start = 0): unknown[] {
  const bot = { srcIp, session: `bf-${srcIp}` };
  return ["root", "admin", "123456", "password", "qwerty", "letmein", "toor"].map((p, i) => cowrie.loginFailed(bot, start + i * 3, "root", p));
}

/** A brute force (T1110.001), and a login that worked after three failures (T1078) as the XSS username. */
export function seedRecords(): unknown[] {
  const bruteForce = bruteForceFrom(bruteForceIp);
  const intruder = { srcIp: takeoverIp, session: "tk0001" };
  const takeover = [
    cowrie.loginFailed(intruder, 100, "oracle", "oracle"),
    cowrie.loginFailed(intruder, 104, "test", "test"),
    cowrie.loginFailed(intruder, 108, "guest", "guest"),
    cowrie.loginSuccess(intruder, 112, xssUsername, "hunter2"),
  ];
  return [...bruteForce, ...takeover];
}

export interface ConsoleStack {
  detector: RunningDetector;
  console: RunningConsole;
  adminToken: string;
  stop(): Promise<void>;
}

export async function startConsoleStack(): Promise<ConsoleStack> {
  let files: DetectorFiles | undefined;
  let detector: RunningDetector | undefined;
  try {
    files = await writeDetectorFiles();
    detector = await startTestDetector(files);
    const ingest = await post(`${detector.url}/api/v1/ingest/cowrie?wait=true`, ndjson(seedRecords()), ingestTokens.default, "application/x-ndjson");
    expect(ingest.status, JSON.stringify(ingest.json)).toBe(200);
    const adminToken = (await login(detector.url, "admin", adminPassword)).token;
    for (const [user, role] of [[viewer, "viewer"], [analyst, "analyst"]] as const) {
      const created = await api(`${detector.url}/api/v1/users`, adminToken, { method: "POST", body: { ...user, role } });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
    }
    const running = await startConsole({ detectorUrl: detector.url, host: "127.0.0.1", port: 0, logger: quietLogger() });
    const d = detector;
    const f = files;
    return { detector: d, console: running, adminToken, stop: async () => {
      await running.close();
      await d.close();
      await f.remove();
    } };
  } catch (err) {
    await detector?.close();
    await files?.remove();
    throw err;
  }
}

export const quietLogger = () => pino({ level: process.env.MINIXDR_TEST_LOG ?? "silent" });
