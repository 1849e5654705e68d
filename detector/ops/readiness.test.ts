// /readyz checks what it claims: the database answers and the anomaly model is loaded; /healthz only says the process is alive.
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ingestTokens, post, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import { freePort } from "../../test/controlplane/processes.ts";
import type { RunningDetector } from "../detector.ts";

// bcrypt at cost 12 and child processes are slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let files: DetectorFiles | undefined;
let detector: RunningDetector | undefined;
afterEach(async () => {
  await detector?.close();
  await files?.remove();
  detector = files = undefined;
});

const readyz = async (d: RunningDetector) => {
  const res = await fetch(`${d.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; problems: string[]; checks: { model: Record<string, string> } } };
};

describe("readiness", () => {
  it("is ready with the committed model loaded, and names its version", async () => {
    files = await writeDetectorFiles();
    detector = await startTestDetector(files, { anomalyModel: undefined });
    const r = await readyz(detector);
    expect(r.status).toBe(200);
    expect(r.body.checks.model).toMatchObject({ status: "loaded", version: expect.stringMatching(/\S/) as string });
  });

  it("is not ready, with the model's load error, when the model cannot load; still alive", async () => {
    files = await writeDetectorFiles();
    detector = await startTestDetector(files, { anomalyModel: undefined, config: { ...files.config, model: { path: join(files.dir, "missing.onnx") } } });
    const r = await readyz(detector);
    expect(r.status).toBe(503);
    expect(r.body.problems.join("\n")).toMatch(/model: cannot load anomaly model .*missing\.onnx: model file .* not found/);
    expect((await fetch(`${detector.url}/healthz`)).status).toBe(200);
  });

  it("is not ready while the database cannot be reached, and ingest answers 503 rather than pretend", async () => {
    const closedPort = await freePort();
    files = await writeDetectorFiles({ storage: { driver: "postgres", path: "/unused" }, databaseUrl: `postgres://postgres@127.0.0.1:${closedPort}/none` });
    detector = await startTestDetector(files);
    const r = await readyz(detector);
    expect(r.status).toBe(503);
    expect(r.body.problems.join("\n")).toMatch(/database \(postgres\): .*ECONNREFUSED/);
    const ingest = await post(`${detector.url}/api/v1/ingest/events`, JSON.stringify({ timestamp: "2024-05-14T10:00:00Z", type: "other", sourceIp: "192.0.2.1" }), ingestTokens.default);
    expect(ingest.status).toBe(503);
  });
});
