// The SQLite store's caches follow the detector's memory limit, so a smaller limit does not get it OOM-killed under load.
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startTestDetector, writeDetectorFiles } from "../../test/detector/detectorHarness.ts";
import { cacheSizesFor, defaultCacheSizes, defaultMemoryLimitBytes } from "./cacheSizing.ts";

const Mi = 1024 * 1024;

describe("cacheSizesFor", () => {
  it("keeps the measured defaults without a limit (unconstrained reads as 0 or a huge number) and at or above the default limit", () => {
    expect(cacheSizesFor(undefined)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(0)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(2 ** 64)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(defaultMemoryLimitBytes)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(4096 * Mi)).toEqual(defaultCacheSizes);
  });

  it("shrinks both caches under a smaller limit, more for less memory, never to nothing", () => {
    const at512 = cacheSizesFor(512 * Mi);
    const at384 = cacheSizesFor(384 * Mi);
    const at128 = cacheSizesFor(128 * Mi);
    expect(at512.events).toBeLessThan(defaultCacheSizes.events);
    expect(at384.events).toBeLessThan(at512.events);
    expect(at384.linkedEvidenceIds).toBeLessThan(at512.linkedEvidenceIds);
    // About 1.5 KB a cached event: what 512Mi leaves after Node, the model and SQLite's page cache.
    expect(at512.events * 1.5 * 1024).toBeLessThan(512 * Mi - 224 * Mi);
    expect(at128.events).toBeGreaterThan(0);
    expect(at128.linkedEvidenceIds).toBeGreaterThan(0);
  });
});

describe("the detector on SQLite", () => {
  afterEach(() => void vi.restoreAllMocks());

  it("sizes the store's caches from the memory limit it runs under, and logs them", async () => {
    vi.spyOn(process, "constrainedMemory").mockReturnValue(512 * Mi);
    const lines: string[] = [];
    const files = await writeDetectorFiles();
    const detector = await startTestDetector(files, { logger: pino({ level: "info" }, { write: (line: string) => void lines.push(line) }) });
    try {
      const sized = lines.map((l) => JSON.parse(l) as { msg: string; memoryLimitBytes?: number; cachedEvents?: number; linkedEvidenceIds?: number })
        .find((l) => l.msg.startsWith("SQLite store: in-memory caches"));
      const expected = cacheSizesFor(512 * Mi);
      expect(sized).toMatchObject({ memoryLimitBytes: 512 * Mi, cachedEvents: expected.events, linkedEvidenceIds: expected.linkedEvidenceIds });
      expect(sized!.cachedEvents).toBeLessThan(defaultCacheSizes.events);
    } finally {
      await detector.close();
      await files.remove();
    }
  }, 60_000);
});
