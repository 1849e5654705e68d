// Bounded caches that a detection pass sweeps in full (every active source, every incident it touches) must not evict
// least recently used first: when the swept set outgrows the bound, LRU drops each entry just before the sweep comes
// back to it and nothing is ever a hit. Random eviction keeps some of them (fewer than bound/working-set, as the
// entries a sweep has just used can go too; the nearer the bound is to the working set, the better).

/** Deletes random entries (never `keep`) until their sizes add up to at least `excess`; returns the size deleted. */
export function evictAtRandom<K, V>(map: Map<K, V>, sizeOf: (value: V) => number, excess: number, keep?: K): number {
  if (excess <= 0) return 0;
  const keys = [...map.keys()].filter((k) => k !== keep);
  let removed = 0;
  while (removed < excess && keys.length > 0) {
    const i = Math.floor(Math.random() * keys.length);
    const k = keys[i]!;
    keys[i] = keys.at(-1)!;
    keys.pop();
    removed += sizeOf(map.get(k)!);
    map.delete(k);
  }
  return removed;
}
