// Ingest bodies in flight are bounded: a sender with many workers posting large batches gets 503 and Retry-After before
// its bodies are read, instead of running the detector's heap out for every tenant.
import { request, type ClientRequest } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import { ingestTokens, post, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import type { RunningDetector } from "../detector.ts";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const KiB = 1024;
const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n");
/** A batch of about `bytes` bytes: failed logins padded by their messages. */
const batchOf = (bytes: number, srcIp: string) => {
  const records = [];
  for (let size = 0, i = 0; size < bytes; i++) {
    const r = { ...cowrie.loginFailed({ srcIp, session: `s-${srcIp}` }, i, "root", `pw-${i}`), message: "x".repeat(900) };
    records.push(r);
    size += JSON.stringify(r).length + 1;
  }
  return ndjson(records);
};

describe("ingest bodies in flight", () => {
  let files: DetectorFiles | undefined;
  let detector: RunningDetector | undefined;
  const open: ClientRequest[] = [];
  afterEach(async () => {
    for (const r of open) r.destroy();
    open.length = 0;
    await detector?.close();
    await files?.remove();
    detector = undefined;
    files = undefined;
  });

  /** A request that announces `length` bytes and sends only its first one: in flight until destroyed. */
  function slowUpload(url: string, length: number, headers: Record<string, string> = {}): ClientRequest {
    const r = request(`${url}/api/v1/ingest/cowrie`, { method: "POST", headers: { authorization: `Bearer ${ingestTokens.default}`, "content-length": String(length), ...headers } });
    r.on("error", () => undefined);
    r.write("[");
    open.push(r);
    return r;
  }

  const metric = async (reason: string) => {
    const text = await (await fetch(detector!.metricsUrl)).text();
    return Number(new RegExp(`^minixdr_ingest_refused_total\\{source="cowrie",reason="${reason}"\\} (\\d+)`, "m").exec(text)?.[1] ?? NaN);
  };

  it("answers 503 with Retry-After past the bound, stores nothing of it, and takes it once the bodies before it are done", async () => {
    files = await writeDetectorFiles();
    detector = await startTestDetector(files, { detection: { maxInFlightBodyBytes: 256 * KiB } });
    const url = detector.url;
    const held = slowUpload(url, 200 * KiB);
    // Within the bound beside it: taken.
    await vi.waitFor(async () => expect((await post(`${url}/api/v1/ingest/cowrie`, batchOf(40 * KiB, "203.0.113.51"), ingestTokens.default)).status).toBe(200));
    // Answered, a body is no longer counted: a second one fits beside the held one too.
    expect((await post(`${url}/api/v1/ingest/cowrie`, batchOf(40 * KiB, "203.0.113.55"), ingestTokens.default)).status).toBe(200);
    const stored = await detector.repository.countEvents("default");
    // Past it: refused before it is read.
    const body = batchOf(100 * KiB, "203.0.113.52");
    const refused = await fetch(`${url}/api/v1/ingest/cowrie`, { method: "POST", headers: { authorization: `Bearer ${ingestTokens.default}` }, body });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: string }).error).toMatch(/^the detector is reading 0\.2 MiB of ingest bodies already \(at most 0\.3 MiB at once\): nothing was stored; retry shortly$/);
    // A body that says no length counts as the largest allowed.
    const chunked = await new Promise<number>((resolve, reject) => {
      const r = request(`${url}/api/v1/ingest/cowrie`, { method: "POST", headers: { authorization: `Bearer ${ingestTokens.default}`, "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on("error", reject);
      r.end(batchOf(1 * KiB, "203.0.113.53"));
    });
    expect(chunked).toBe(503);
    expect(await metric("busy")).toBe(2);
    expect(await detector.repository.countEvents("default")).toBe(stored);

    // The held sender goes away: its bytes are no longer counted, and the retry is taken.
    held.destroy();
    await vi.waitFor(async () => expect((await post(`${url}/api/v1/ingest/cowrie`, body, ingestTokens.default)).status).toBe(200), { timeout: 10_000, interval: 100 });
    expect(await detector.repository.countEvents("default")).toBeGreaterThan(stored);
  });

  it("always takes one body the size limit allows, however low the bound", async () => {
    files = await writeDetectorFiles();
    detector = await startTestDetector(files, { detection: { maxInFlightBodyBytes: 16 * KiB } });
    const answer = await post(`${detector.url}/api/v1/ingest/cowrie`, batchOf(300 * KiB, "203.0.113.54"), ingestTokens.default);
    expect(answer.status).toBe(200);
    expect(answer.json.accepted).toBeGreaterThan(250);
    expect(await metric("busy")).toBe(0);
  });
});
