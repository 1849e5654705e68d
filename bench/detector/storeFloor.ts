// The floor under the detector's SQLite ingest: what parsing and normalizing a batch, and storing it, cost on their
// own, in this process, with no HTTP and no detection. If parse + store alone come near half the baseline's
// throughput, no amount of work on detection can reach the ingest target on one thread.
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { SecurityEvent } from "../../detector/events/securityEvent.ts";
import { ingestFormats } from "../../detector/ingest/formats.ts";
import { normalizeBatch } from "../../detector/ingest/normalizeBatch.ts";
import { SqliteRepository } from "../../detector/store/sqliteRepository.ts";
import { median } from "../support/stats.ts";
import { body, ingestPath, type EventFormat } from "./events.ts";

export interface StoreFloor {
  format: EventFormat;
  /** Events per second through normalizeBatch (JSON parse, schema validation, normalization): medians of the repetitions. */
  normalizePerSecond: number;
  /** Events per second through SqliteRepository.insertEvents (one transaction per batch, as ingest commits). */
  insertPerSecond: number;
  /** Both, one after the other: the most a single thread could ingest on SQLite if detection cost nothing. */
  bothPerSecond: number;
  /**
   * Events per second stored as one bare row each (the event's JSON in a table with no index and no key, one
   * transaction per batch, no sync): less than any store of one row per event can cost, ours included.
   */
  bareRowPerSecond: number;
  reps: { normalizeSeconds: number; insertSeconds: number; bareSeconds: number; events: number }[];
}

export async function measureStoreFloor(dir: string, format: EventFormat, batch: number, batchesPerRep: number, reps: number): Promise<StoreFloor> {
  const repository = new SqliteRepository(join(dir, `floor-${format}.db`));
  await repository.migrate();
  const bare = new DatabaseSync(join(dir, `floor-bare-${format}.db`));
  bare.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; CREATE TABLE events (body TEXT NOT NULL)");
  const bareInsert = bare.prepare("INSERT INTO events (body) VALUES (?)");
  const ingestFormat = ingestFormats[ingestPath[format]];
  if (!ingestFormat) throw new Error(`no ingest format serves /${ingestPath[format]}`);
  const results: StoreFloor["reps"] = [];
  try {
    for (let r = 0; r < reps + 1; r++) {
      const bodies = Array.from({ length: batchesPerRep }, () => body(format, batch));
      let started = performance.now();
      const batches: SecurityEvent[][] = bodies.map((text) => {
        const normalized = normalizeBatch(ingestFormat, text, { tenant: "default", receivedAt: Date.now() });
        if (normalized.issues.length > 0) throw new Error(`the ${format} benchmark events do not validate: ${JSON.stringify(normalized.issues[0])}`);
        return normalized.events;
      });
      const normalizeSeconds = (performance.now() - started) / 1000;
      started = performance.now();
      for (const events of batches) await repository.insertEvents(events);
      const insertSeconds = (performance.now() - started) / 1000;
      started = performance.now();
      for (const events of batches) {
        bare.exec("BEGIN");
        for (const e of events) bareInsert.run(JSON.stringify(e));
        bare.exec("COMMIT");
      }
      const bareSeconds = (performance.now() - started) / 1000;
      // The first repetition warms up (JIT, prepared statements) and is not counted.
      if (r > 0) results.push({ normalizeSeconds, insertSeconds, bareSeconds, events: batches.reduce((n, b) => n + b.length, 0) });
    }
  } finally {
    await repository.close();
    bare.close();
  }
  return {
    format,
    normalizePerSecond: median(results.map((x) => x.events / x.normalizeSeconds)),
    insertPerSecond: median(results.map((x) => x.events / x.insertSeconds)),
    bothPerSecond: median(results.map((x) => x.events / (x.normalizeSeconds + x.insertSeconds))),
    bareRowPerSecond: median(results.map((x) => x.events / x.bareSeconds)),
    reps: results,
  };
}
