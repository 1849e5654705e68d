// How much the SQLite store may keep in memory, from the container's memory limit: the defaults were measured under
// the default limit (768Mi: the benchmark's detector peaked at 584-617 MB with them before it ran with the heap flags
// its Deployment gets, 455-475 MB since: bench/results), a smaller limit gets proportionally smaller caches, so
// lowering spec.detector.resources does not get the detector OOM-killed under load, and a larger one larger caches
// (as far as the V8 heap grew with it), so raising it is how detection stops re-reading windows from the file.

export interface CacheSizes {
  /** Parsed events kept for detection windows (store/recentEvents.ts). */
  events: number;
  /** Event ids of recently linked incidents (evidence linking). */
  linkedEvidenceIds: number;
}

export const defaultCacheSizes: CacheSizes = { events: 250_000, linkedEvidenceIds: 400_000 };
/** The memory limit the defaults were measured under. */
export const defaultMemoryLimitBytes = 768 * 1024 * 1024;
/** V8's heap limit under that memory limit with the flags the operator renders (--max-old-space-size=384, semi-spaces 16). */
export const defaultHeapLimitBytes = 432 * 1024 * 1024;
/** What the detector needs besides the caches (Node, the model, SQLite's page cache, requests in flight). */
const fixedBytes = 224 * 1024 * 1024;
const minimum: CacheSizes = { events: 10_000, linkedEvidenceIds: 20_000 };

/**
 * The cache sizes for a process whose memory is limited to `limitBytes` (`process.constrainedMemory()`; 0, undefined
 * or an implausibly large value means no limit) and whose V8 heap may reach `heapLimitBytes`
 * (`v8.getHeapStatistics().heap_size_limit`): the defaults without a limit and at the default limit; below it, scaled
 * down with the memory left after the fixed part, never under a small floor; above it, scaled up with that memory as
 * far as the heap grew too (the caches live in the heap: a larger limit with the default heap flags keeps the defaults).
 */
export function cacheSizesFor(limitBytes: number | undefined, heapLimitBytes = defaultHeapLimitBytes): CacheSizes {
  if (!limitBytes || !Number.isFinite(limitBytes) || limitBytes >= Number.MAX_SAFE_INTEGER) return defaultCacheSizes;
  const limitShare = Math.max(0, limitBytes - fixedBytes) / (defaultMemoryLimitBytes - fixedBytes);
  const share = limitBytes >= defaultMemoryLimitBytes ? Math.max(1, Math.min(limitShare, heapLimitBytes / defaultHeapLimitBytes)) : limitShare;
  return {
    events: Math.max(minimum.events, Math.floor(defaultCacheSizes.events * share)),
    linkedEvidenceIds: Math.max(minimum.linkedEvidenceIds, Math.floor(defaultCacheSizes.linkedEvidenceIds * share)),
  };
}
