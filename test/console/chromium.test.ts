// The browser tests' contract when Chromium cannot be had: fail under CI=true, skip with directions locally.
import { describe, expect, it, vi } from "vitest";
import { ensureChromium } from "./chromium.ts";

const missing = "/nonexistent/chromium";
const cannotInstall = () => Promise.reject(new Error("/usr/bin/chromium is missing and cannot be installed here (needs root and apt-get)"));

describe("ensureChromium", () => {
  it("is satisfied by an existing binary without installing anything", async () => {
    const install = vi.fn(() => Promise.resolve());
    expect(await ensureChromium({ path: process.execPath, ci: true, install })).toBe("");
    expect(install).not.toHaveBeenCalled();
  });

  it("fails under CI=true when the browser cannot be installed", async () => {
    await expect(ensureChromium({ path: missing, ci: true, install: cannotInstall })).rejects.toThrow(/browser tests cannot run: .*cannot be installed here/);
    // An install that "works" but leaves no binary fails too.
    await expect(ensureChromium({ path: missing, ci: true, install: () => Promise.resolve() })).rejects.toThrow(/still missing/);
  });

  it("returns the reason outside CI, so the browser tests skip saying how to get it", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    expect(await ensureChromium({ path: missing, ci: false, install: cannotInstall })).toMatch(/^browser tests cannot run: /);
    expect(warn.mock.calls[0]?.[0]).toContain("apt-get install chromium");
    warn.mockRestore();
  });
});
