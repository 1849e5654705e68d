// How much the SQLite store may keep in memory, from the container's memory limit: the defaults were measured under
// the default limit (768Mi: the benchmark's detector peaked at 584-617 MB with them before it ran with the heap flags
// its Deployment gets, 455-475 MB since: bench/results), and a smaller limit gets
// proportionally smaller caches, so lowering spec.detector.resources does not get the detector OOM-killed under load.

export interface CacheSizes {
  /** Parsed events kept for detection windows (store/recentEvents.ts). */
  events: number;
  /** Event ids of recently linked incidents (evidence linking). */
  linkedEvidenceIds: number;
}

export const defaultCacheSizes: CacheSizes = { events: 250_000, linkedEvidenceIds: 400_000 };
/** The memory limit the defaults were measured under. */
export const defaultMemoryLimitBytes = 768 * 1024 * 1024;
/** What the detector needs besides the caches (Node, the model, SQLite's page cache, requests in flight). */
const fixedBytes = 224 * 1024 * 1024;
const minimum: CacheSizes = { events: 10_000, linkedEvidenceIds: 20_000 };

/**
 * The cache sizes for a process whose memory is limited to `limitBytes` (`process.constrainedMemory()`; 0, undefined
 * or an implausibly large value means no limit): the defaults at or above the default limit, scaled down with the
 * memory left after the fixed part below it, never under a small floor.
 */
export function cacheSizesFor(limitBytes: number | undefined): CacheSizes {
  if (!limitBytes || limitBytes >= defaultMemoryLimitBytes || !Number.isFinite(limitBytes)) return defaultCacheSizes;
  const share = Math.max(0, limitBytes - fixedBytes) / (defaultMemoryLimitBytes - fixedBytes);
  return {
    events: Math.max(minimum.events, Math.floor(defaultCacheSizes.events * share)),
    linkedEvidenceIds: Math.max(minimum.linkedEvidenceIds, Math.floor(defaultCacheSizes.linkedEvidenceIds * share)),
  };
}
