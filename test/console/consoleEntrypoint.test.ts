// `minixdr console` as the image runs it: settings from the environment, health, readiness against a real detector, SIGTERM.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleSettings } from "../../console/main.ts";
import type { RunningDetector } from "../../detector/detector.ts";
import { freePort } from "../controlplane/processes.ts";
import { repoRoot, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../detector/detectorHarness.ts";

const entrypoint = join(repoRoot, "bin/minixdr.ts");
let files: DetectorFiles;
let detector: RunningDetector;

beforeAll(async () => {
  files = await writeDetectorFiles();
  detector = await startTestDetector(files);
});
afterAll(async () => {
  await detector?.close();
  await files?.remove();
});

describe("console settings", () => {
  it("takes the detector URL from MINIXDR_DETECTOR_URL and listens on 8080 by default", () => {
    expect(consoleSettings({ MINIXDR_DETECTOR_URL: "http://minixdr-detector.security.svc:8080/" })).toEqual({ detectorUrl: "http://minixdr-detector.security.svc:8080", port: 8080, host: "::" });
    expect(consoleSettings({ MINIXDR_DETECTOR_URL: "https://d:8443", MINIXDR_CONSOLE_PORT: "9000", MINIXDR_CONSOLE_HOST: "127.0.0.1" })).toEqual({ detectorUrl: "https://d:8443", port: 9000, host: "127.0.0.1" });
  });

  it("names the variable that is wrong", () => {
    expect(() => consoleSettings({})).toThrow(/MINIXDR_DETECTOR_URL must be set/);
    expect(() => consoleSettings({ MINIXDR_DETECTOR_URL: "detector:8080" })).toThrow(/MINIXDR_DETECTOR_URL must be http or https/);
    expect(() => consoleSettings({ MINIXDR_DETECTOR_URL: "not a url" })).toThrow(/MINIXDR_DETECTOR_URL is not a URL/);
    expect(() => consoleSettings({ MINIXDR_DETECTOR_URL: "http://d", MINIXDR_CONSOLE_PORT: "http" })).toThrow(/MINIXDR_CONSOLE_PORT must be a port number/);
    // Number() took "" as 0 (a random port) and hex, exponents or padding as a number.
    for (const port of ["", " ", "0", "65536", "0x1F90", "8e3", "8080.0", " 8080", "-1", "1234567"]) {
      expect(() => consoleSettings({ MINIXDR_DETECTOR_URL: "http://d", MINIXDR_CONSOLE_PORT: port }), port).toThrow(`MINIXDR_CONSOLE_PORT must be a port number (1-65535, decimal), not ${JSON.stringify(port)}`);
    }
    for (const port of [1, 65535]) expect(consoleSettings({ MINIXDR_DETECTOR_URL: "http://d", MINIXDR_CONSOLE_PORT: String(port) }).port).toBe(port);
  });
});

describe("minixdr console", () => {
  it("exits 2 naming MINIXDR_DETECTOR_URL when it is missing", () => {
    const env = { ...process.env };
    delete env.MINIXDR_DETECTOR_URL;
    const run = spawnSync(process.execPath, [entrypoint, "console"], { env, encoding: "utf8", timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("console: MINIXDR_DETECTOR_URL must be set");
  });

  it("exits 2 naming MINIXDR_CONSOLE_PORT when it is empty, rather than listening on a random port", () => {
    const run = spawnSync(process.execPath, [entrypoint, "console"], { env: { ...process.env, MINIXDR_DETECTOR_URL: detector.url, MINIXDR_CONSOLE_PORT: "" }, encoding: "utf8", timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`console: MINIXDR_CONSOLE_PORT must be a port number (1-65535, decimal), not ""`);
  });

  it("serves the app, is ready while the detector answers, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [entrypoint, "console"], {
      env: { ...process.env, MINIXDR_DETECTOR_URL: detector.url, MINIXDR_CONSOLE_PORT: String(port), MINIXDR_CONSOLE_HOST: "127.0.0.1", MINIXDR_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      await expect.poll(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status, { timeout: 20_000, interval: 200 }).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Sign in to Mini-XDR");
      expect(output).toContain(`"msg":"console listening"`);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      // Every line is a JSON log record: no stray warnings for log collectors to choke on.
      for (const line of output.trim().split("\n")) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 40_000);
});
