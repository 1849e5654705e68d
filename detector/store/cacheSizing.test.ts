// The SQLite store's caches follow the detector's memory limit, so a smaller limit does not get it OOM-killed under load.
import { getHeapStatistics } from "node:v8";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startTestDetector, writeDetectorFiles } from "../../test/detector/detectorHarness.ts";
import { cacheSizesFor, defaultCacheSizes, defaultHeapLimitBytes, defaultMemoryLimitBytes } from "./cacheSizing.ts";

const Mi = 1024 * 1024;

describe("cacheSizesFor", () => {
  it("keeps the measured defaults without a limit (unconstrained reads as 0 or a huge number), at the default limit, and above it with the default heap", () => {
    const largeHeap = 4288 * Mi;
    expect(cacheSizesFor(undefined, largeHeap)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(0, largeHeap)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(2 ** 64, largeHeap)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(defaultMemoryLimitBytes, defaultHeapLimitBytes)).toEqual(defaultCacheSizes);
    expect(cacheSizesFor(defaultMemoryLimitBytes, largeHeap)).toEqual(defaultCacheSizes);
    // A larger limit without a larger heap (a pinned NODE_OPTIONS): the caches would not fit in the heap.
    expect(cacheSizesFor(4096 * Mi, defaultHeapLimitBytes)).toEqual(defaultCacheSizes);
  });

  it("grows both caches under a larger limit as far as the heap grew with it, so raising the limit cuts re-reads from the file", () => {
    // 1536Mi with the operator's flags for it (--max-old-space-size=768, semi-spaces 16: a heap limit of 816 MiB).
    const at1536 = cacheSizesFor(1536 * Mi, 816 * Mi);
    expect(at1536.events).toBe(Math.floor(defaultCacheSizes.events * 816 / 432));
    expect(at1536.linkedEvidenceIds).toBeGreaterThan(defaultCacheSizes.linkedEvidenceIds);
    // A heap larger than the limit's share (no flags): the limit bounds it.
    const unflagged = cacheSizesFor(1024 * Mi, 4288 * Mi);
    expect(unflagged.events).toBe(Math.floor(defaultCacheSizes.events * (1024 - 224) / (768 - 224)));
    // The same memory per cached event as at the default: at most what the heap's growth gives.
    expect(cacheSizesFor(4096 * Mi, 2096 * Mi).events / defaultCacheSizes.events).toBeLessThanOrEqual(2096 / 432);
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
      const expected = cacheSizesFor(512 * Mi, getHeapStatistics().heap_size_limit);
      expect(sized).toMatchObject({ memoryLimitBytes: 512 * Mi, cachedEvents: expected.events, linkedEvidenceIds: expected.linkedEvidenceIds });
      expect(sized!.cachedEvents).toBeLessThan(defaultCacheSizes.events);
    } finally {
      await detector.close();
      await files.remove();
    }
  }, 60_000);
});
