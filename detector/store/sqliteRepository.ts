// SQLite backend (node:sqlite): the embedded default for a single replica. A write resolves once its commit is in the
// WAL and the WAL is synced to disk (fdatasync in the thread pool, not on the event loop: see `durable`).
import { mkdirSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { evidenceEventLimit, type EvidenceSummary, type Incident, type IncidentStatus, type IncidentWithEvents } from "../incidents/incident.ts";
import type { NewUser, UserRecord } from "../auth/user.ts";
import { incidentListing } from "./incidentFilter.ts";
import type { DetectionTransaction, EvidenceLinks, FirstAdminOutcome, IncidentPage, SourceWindow, IncidentQuery, LoginFailure, MergeableIncidentQuery, OpenIncidentCount, Repository } from "./repository.ts";
import { detectionUpdateColumns, detectionUpdateValues, eventColumns, eventFromRow, eventRefFromRow, eventValues, evidenceFromCounts, incidentColumns, incidentFromRow, incidentValues, userFromRow, type Row } from "./rows.ts";
import { evictAtRandom } from "./evictAtRandom.ts";
import { RecentEvents } from "./recentEvents.ts";
import { sqliteSchema } from "./sqliteSchema.ts";
import { defaultCacheSizes, type CacheSizes } from "./cacheSizing.ts";

/**
 * SQLite's primary result codes for failures of the file or the machine, not of the statement: NOMEM, READONLY, IOERR,
 * CORRUPT, FULL, CANTOPEN, NOTADB.
 */
const storeFailureCodes = new Set([7, 8, 10, 11, 13, 14, 26]);

/**
 * A failed login's new count and lock, over the row as it was (?3 the failure's time, ?4 the failures that lock, ?5
 * the lock's duration; `expiry` is the column holding when the count starts afresh): a count starts afresh once its lock
 * has run out or its last failure is `lockMs` old; a running lock stays.
 */
const freshCount = (expiry: string) => `CASE WHEN max(locked_until, ${expiry}) <= ?3 THEN 1 ELSE failed_logins + 1 END`;
const lockAfterFailure = (expiry: string) => `CASE WHEN locked_until > ?3 THEN locked_until WHEN ${freshCount(expiry)} >= ?4 THEN ?3 + ?5 ELSE 0 END`;
/** Expired unknown-name counts removed per failure recorded. */
const expiredPerFailure = 100;

const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");

interface QueuedEvent {
  /** The event's rowid: the detection queue is every event after `detection_progress.detected_through`. */
  seq: number;
  event: SecurityEvent;
}

interface LinkedEvidence {
  ids: Set<string>;
  counts: Map<string, number>;
}

export class SqliteRepository implements Repository {
  readonly driver = "sqlite" as const;
  private readonly db: DatabaseSync;
  private readonly path: string;
  /** One connection: write transactions are queued so async callers never interleave inside one. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Detection passes, one after another. */
  private passes: Promise<void> = Promise.resolve();
  /** The WAL file, opened at the first sync: syncing it makes the commits in it durable. */
  private wal: Promise<FileHandle> | undefined;
  /** The WAL sync running now, and the one queued after it (shared by every commit made meanwhile). */
  private syncing: Promise<void> | undefined;
  private nextSync: Promise<void> | undefined;
  /** Prepared statements by SQL text: preparing costs more than running the small statements of an ingest. */
  private readonly statements = new Map<string, StatementSync>();
  /** Each tenant's recent stored events by source: a stored event never changes and this process is the file's only writer. */
  private readonly recent: RecentEvents;
  /** Event ids of recently linked incidents kept in memory (about 100 bytes each), so linking need not re-read all links. */
  private readonly linkedEvidenceCacheSize: number;
  /** Recently linked incidents' evidence (ids and counts by kind); cleared on rollback. */
  private readonly linked = new Map<string, LinkedEvidence>();
  private linkedIds = 0;
  /** Events this process stored and queued for detection, in queue order (after their commit). */
  private readonly queued: QueuedEvent[] = [];
  /** The last queue position detected: the queue holds nothing at or before it. */
  private detectedThrough = 0;
  /** The last queue position that was already stored when the file was opened (read from the store, not memory). */
  private backlogThrough = 0;

  /**
   * `cache` bounds what is kept in memory: parsed events for detection windows (about 1.5 KB each with their share of
   * the heap; the oldest dropped past the bound) and linked evidence ids. Measured with 500 sources whose windows hold
   * 130k events: at 100k cached events the CPU per event doubled once the windows outgrew the bound (re-read and
   * re-parsed from the store each pass). The detector sizes both from its memory limit (`cacheSizesFor`).
   */
  constructor(path: string, cache: CacheSizes = defaultCacheSizes) {
    this.path = path;
    this.linkedEvidenceCacheSize = cache.linkedEvidenceIds;
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    // Exclusive locking: a second process (another replica on a shared volume) cannot use the file at all.
    // synchronous = NORMAL: a commit does not fsync (SQLite still syncs around checkpoints); `durable` syncs the WAL.
    try {
      this.db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA busy_timeout = 2000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 1000;");
    } catch (err) {
      this.db.close();
      throw this.explain(err);
    }
    // Durability rests on syncing the WAL: a file that stays in another journal mode would acknowledge unsynced commits.
    const mode = String(this.db.prepare("PRAGMA journal_mode").get()?.journal_mode ?? "");
    if (path !== ":memory:" && mode !== "wal") {
      this.db.close();
      throw new Error(`SQLite database ${path} could not be switched to WAL mode (journal_mode is ${mode}): put it on a local filesystem`);
    }
    this.recent = new RecentEvents(cache.events, {
      read: (tenant, from, to, sources) => {
        // Rows are parsed as they come (no array of every body), and only the sources asked for are returned.
        const rows = sources
          ? this.prepare("SELECT body FROM events WHERE tenant = ? AND event_time >= ? AND event_time < ? AND source_ip IN (SELECT value FROM json_each(?)) ORDER BY event_time, id")
            .iterate(tenant, from, to, JSON.stringify([...sources]))
          : this.prepare("SELECT body FROM events WHERE tenant = ? AND event_time >= ? AND event_time < ? ORDER BY event_time, id").iterate(tenant, from, to);
        const events: SecurityEvent[] = [];
        for (const r of rows) events.push(Object.freeze(eventFromRow(r)));
        return events;
      },
      countUpTo: (tenant, from, to, atMost) => Number(this.get("SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE tenant = ? AND event_time >= ? AND event_time < ? LIMIT ?)",
        tenant, from, to, atMost + 1)?.n ?? 0),
      timeBefore: (tenant, before, offset) => {
        const row = this.get("SELECT event_time FROM events WHERE tenant = ? AND event_time < ? ORDER BY event_time DESC LIMIT 1 OFFSET ?", tenant, before, offset);
        return row ? Number(row.event_time) : undefined;
      },
    });
  }

  private prepare(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.prepare(sql).all(...params);
  }

  private get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.prepare(sql).get(...params);
  }

  private run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.prepare(sql).run(...params).changes);
  }

  /** Runs a read after every queued transaction, so it never sees one half done (the model is awaited inside detection). */
  private serialized<T>(fn: () => T): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs `fn` inside BEGIN IMMEDIATE .. COMMIT, after every earlier transaction of this connection has finished;
   * `onCommit` runs right after the commit, before the next transaction can start (for in-memory state that must
   * match what is committed).
   */
  private async transaction<T>(fn: () => Promise<T> | T, onCommit?: (result: T) => void): Promise<T> {
    const writes = this.writeLock();
    let result: T;
    try {
      await writes.enter();
      result = await fn();
      writes.commit();
      onCommit?.(result);
    } finally {
      writes.end();
    }
    await this.durable();
    return result;
  }

  /**
   * Resolves once every commit made before the call is on disk. Commits do not fsync (synchronous = NORMAL), so the
   * event loop never waits on the disk; each write waits here instead, off the event loop, for an fdatasync of the WAL
   * that holds its commit. One sync serves every commit made before it started, so concurrent writes share them.
   */
  private durable(): Promise<void> {
    if (this.path === ":memory:") return Promise.resolve();
    if (!this.syncing) return this.startSync();
    // The running sync may have started before this commit: the next one covers it.
    return this.nextSync ??= this.syncing.catch(() => undefined).then(() => {
      this.nextSync = undefined;
      return this.syncing ?? this.startSync();
    });
  }

  private startSync(): Promise<void> {
    const sync = (async () => {
      this.wal ??= open(`${this.path}-wal`, "r");
      try {
        await this.syncWal(await this.wal);
      } catch (err) {
        throw new Error(`SQLite commit not made durable: syncing ${this.path}-wal failed: ${(err as Error).message}`, { cause: err });
      }
    })();
    const tracked: Promise<void> = sync.finally(() => {
      if (this.syncing === tracked) this.syncing = undefined;
    });
    this.syncing = tracked;
    return tracked;
  }

  /** fdatasync of the WAL (a test seam: tests hold it to see that writes wait for it). */
  protected syncWal(wal: FileHandle): Promise<void> {
    return wal.datasync();
  }

  /**
   * The connection's write transaction, taken when `enter` is first called (after every earlier transaction has
   * finished) and held until `end`: rolled back there unless `commit` came first. Until `enter`, reads queue as
   * `serialized` ones do, so a detection pass reads and computes while inserts commit, and holds the store only to write.
   */
  private writeLock(): { enter(): Promise<void>; readonly entering: boolean; commit(): void; end(): void } {
    let entered: Promise<void> | undefined;
    let release: (() => void) | undefined;
    let open = false;
    let ended = false;
    const lock = {
      /** `enter` was called: what follows runs inside the transaction. */
      get entering() {
        return entered !== undefined;
      },
      enter: () => entered ??= new Promise<void>((resolve, reject) => {
        const held = this.queue.then(() => new Promise<void>((done) => {
          if (ended) {
            // Ended while waiting its turn (a write nobody awaited): nothing to hold.
            done();
            reject(new Error("the write transaction was ended before it began"));
            return;
          }
          try {
            this.db.exec("BEGIN IMMEDIATE");
          } catch (err) {
            done();
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          open = true;
          release = done;
          resolve();
        }));
        this.queue = held.catch(() => undefined);
      }),
      commit: () => {
        this.db.exec("COMMIT");
        open = false;
      },
      end: () => {
        ended = true;
        if (open) {
          open = false;
          if (this.db.isTransaction) this.db.exec("ROLLBACK");
          // The evidence cache may hold links the rollback undid.
          this.linked.clear();
          this.linkedIds = 0;
        }
        const done = release;
        release = undefined;
        done?.();
      },
    };
    return lock;
  }

  private explain(err: unknown): Error {
    if (!/database is locked/.test((err as Error).message)) return err as Error;
    return new Error(`SQLite database ${this.path} is in use by another detector process: SQLite serves one replica; use storage.driver postgres for several`, { cause: err });
  }

  async migrate(): Promise<void> {
    try {
      await this.transaction(() => {
        this.db.exec(sqliteSchema);
        this.upgrade();
        // What was stored and not detected when the file was last closed (e.g. a crash between an ack and its detection).
        this.backlogThrough = Number(this.get("SELECT coalesce(max(rowid), 0) AS s FROM events")?.s ?? 0);
        this.detectedThrough = Number(this.get("SELECT detected_through AS s FROM detection_progress")?.s ?? 0);
      });
    } catch (err) {
      throw this.explain(err);
    }
  }

  /**
   * Files written by earlier versions: their per-source events index goes (the time index replaces it), their
   * detection_queue table becomes the detection_progress mark (re-detecting an event is harmless: incidents are
   * updated, not duplicated). A file from before the queue existed had every event detected when it was stored.
   */
  private upgrade(): void {
    this.db.exec("DROP INDEX IF EXISTS events_by_source");
    // The time index gained source_ip (reads for some sources skip the others' rows): an older file kept its
    // two-column index, CREATE INDEX IF NOT EXISTS leaving it as it was.
    if (!this.all("PRAGMA index_info(events_by_time)").some((c) => c.name === "source_ip")) {
      this.db.exec("DROP INDEX IF EXISTS events_by_time; CREATE INDEX events_by_time ON events (tenant, event_time, source_ip)");
    }
    if (!this.get("SELECT 1 AS x FROM detection_progress")) {
      const queue = this.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'detection_queue'");
      const firstQueued = queue ? this.get("SELECT min(e.rowid) AS r FROM detection_queue q JOIN events e ON e.tenant = q.tenant AND e.id = q.event_id")?.r : null;
      const through = firstQueued === null || firstQueued === undefined ? Number(this.get("SELECT coalesce(max(rowid), 0) AS r FROM events")?.r ?? 0) : Number(firstQueued) - 1;
      this.run("INSERT INTO detection_progress (id, detected_through) VALUES (1, ?)", through);
    }
    this.db.exec("DROP TABLE IF EXISTS detection_queue");
    // The one Secret value a file from before rollouts were safe recorded (table first_admin): still applied, so a
    // deleted admin stays deleted across the upgrade (it came back, with the Secret's password).
    if (this.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'first_admin'")) {
      this.db.exec("INSERT INTO first_admin_sources (source, provisioned_at) SELECT source, provisioned_at FROM first_admin WHERE true ON CONFLICT DO NOTHING; DROP TABLE first_admin");
    }
    // Users from before password changes start at credentials version 0.
    const userColumns = this.all("PRAGMA table_info(users)").map((c) => c.name);
    if (!userColumns.includes("credentials_version")) {
      this.db.exec("ALTER TABLE users ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0");
    }
    // Users from before failure counts expired: a count with no lock running starts afresh at the next failure.
    if (!userColumns.includes("failures_expire_at")) {
      this.db.exec("ALTER TABLE users ADD COLUMN failures_expire_at INTEGER NOT NULL DEFAULT 0");
    }
  }

  ping(): Promise<void> {
    this.get("SELECT 1");
    return Promise.resolve();
  }

  /**
   * The file is this process's alone (an exclusive lock), so it is never briefly unreachable; but its volume can fill up
   * or fail, and then every write fails whatever the events. Counted against the events, a full disk had the event at
   * the head of the queue taken off it undetected (the one-row mark that skips it still fitted where the pass's writes
   * did not), and its incident was never raised, even once there was room again.
   */
  isUnavailableError(err: unknown): boolean {
    for (let e: unknown = err; e instanceof Error; e = e.cause) {
      const errcode = (e as { errcode?: unknown }).errcode;
      if (typeof errcode === "number" && storeFailureCodes.has(errcode & 0xff)) return true;
      // A failed WAL sync (startSync): the file system's error, with the system call that failed.
      if (typeof (e as NodeJS.ErrnoException).syscall === "string") return true;
    }
    return false;
  }

  async close(): Promise<void> {
    // A pass computes outside the transaction queue: let it finish too.
    await this.passes;
    await this.queue;
    await Promise.allSettled([this.syncing, this.nextSync]);
    const wal = this.wal;
    this.wal = undefined;
    if (wal) await (await wal).close();
    this.statements.clear();
    this.recent.clear();
    this.linked.clear();
    this.linkedIds = 0;
    if (this.db.isOpen) this.db.close();
  }

  async insertEvents(events: SecurityEvent[]): Promise<{ inserted: number }> {
    const stored: QueuedEvent[] = [];
    await this.transaction(() => {
      const insert = this.prepare(`INSERT INTO events (${eventColumns.join(", ")}) VALUES (${marks(eventColumns.length)}) ON CONFLICT DO NOTHING`);
      for (const e of events) {
        // Rowids only grow (pruning never deletes the newest row), so storing an event queues it for detection.
        const result = insert.run(...eventValues(e));
        if (Number(result.changes) === 1) stored.push({ seq: Number(result.lastInsertRowid), event: Object.freeze(e) });
      }
    }, () => {
      // Only once committed, and before any other transaction: the caches hold exactly what the store holds.
      this.recent.add(stored.map((q) => q.event));
      this.queued.push(...stored);
    });
    return { inserted: stored.length };
  }

  /**
   * A pass's reads and computation run outside the write transaction (ingest commits meanwhile: what it stores joins
   * the next pass); its first write takes the transaction, which then also moves the mark, all in one commit.
   */
  async detectQueued<T>(limit: number, fn: (events: SecurityEvent[], tx: DetectionTransaction) => Promise<T>): Promise<{ events: number; result: T } | undefined> {
    // One pass at a time: a second would claim the same events.
    const previous = this.passes;
    let passDone!: () => void;
    this.passes = new Promise<void>((r) => (passDone = r));
    await previous;
    const writes = this.writeLock();
    let pass: { events: number; result: T } | undefined;
    try {
      // Events queued before this process opened the file come from the store; the ones it stored since, from memory.
      const claimed = await this.serialized(() => this.backlogThrough > this.detectedThrough
        ? this.all("SELECT rowid AS seq, body FROM events WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?", this.detectedThrough, this.backlogThrough, limit)
          .map((r) => ({ seq: Number(r.seq), event: Object.freeze(eventFromRow(r)) }))
        : this.queued.slice(0, limit));
      if (claimed.length === 0) return undefined;
      const result = await fn(claimed.map((q) => q.event), this.detectionTransaction(writes));
      await writes.enter();
      const through = claimed.at(-1)!.seq;
      this.run("UPDATE detection_progress SET detected_through = ?", through);
      writes.commit();
      // Before any other transaction: the in-memory queue matches the mark.
      this.detectedThrough = through;
      let done = 0;
      while (done < this.queued.length && this.queued[done]!.seq <= through) done++;
      this.queued.splice(0, done);
      pass = { events: claimed.length, result };
    } finally {
      writes.end();
      this.recent.endPass();
      passDone();
    }
    await this.durable();
    return pass;
  }

  windowEventsRead(): { memory: number; store: number } {
    return { ...this.recent.served };
  }

  countQueued(): Promise<number> {
    return this.serialized(() => Number(this.get("SELECT count(*) AS n FROM events WHERE rowid > (SELECT detected_through FROM detection_progress)")?.n ?? 0));
  }

  anyQueued(events: { tenant: string; id: string }[]): Promise<boolean> {
    const wanted = new Set(events.map((e) => `${e.tenant}\u0000${e.id}`));
    return this.serialized(() => {
      if (this.queued.some((q) => wanted.has(`${q.event.tenant}\u0000${q.event.id}`))) return true;
      if (this.backlogThrough <= this.detectedThrough) return false;
      return this.all("SELECT tenant, id FROM events WHERE rowid > ? AND rowid <= ?", this.detectedThrough, this.backlogThrough)
        .some((r) => wanted.has(`${String(r.tenant)}\u0000${String(r.id)}`));
    });
  }

  countEvents(tenant: string): Promise<number> {
    return this.serialized(() => Number(this.get("SELECT count(*) AS n FROM events WHERE tenant = ?", tenant)?.n ?? 0));
  }

  async pruneEvents(receivedBefore: number, limit: number): Promise<number> {
    return this.transaction(() => {
      // Rowids follow arrival, so the earliest received are the first rowids: the oldest `limit` rows at or below the
      // detection mark are read by rowid, and those received before the cutoff go. Never the newest row: a new row's
      // rowid is one above the largest left, and must stay above the mark.
      return this.all(`DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE rowid <= (SELECT detected_through FROM detection_progress)
        AND rowid < (SELECT max(rowid) FROM events) ORDER BY rowid LIMIT ?) AND received_at < ? RETURNING tenant, id, source_ip, event_time`, limit, receivedBefore)
        .map((r) => ({ tenant: String(r.tenant), id: String(r.id), sourceIp: String(r.source_ip), time: Number(r.event_time) }));
    }, (deleted) => {
      // Before any other transaction: the cache holds exactly what the store holds.
      this.recent.remove(deleted);
    }).then((deleted) => deleted.length);
  }

  withSourceLock<T>(_tenant: string, _sourceIp: string, fn: (tx: DetectionTransaction) => Promise<T>): Promise<T> {
    // A single connection in a single process: the transaction queue is the lock.
    return this.withSourceLocks([], fn);
  }

  async withSourceLocks<T>(_sources: { tenant: string; sourceIp: string }[], fn: (tx: DetectionTransaction) => Promise<T>): Promise<T> {
    // The same queue lock; one transaction, so the batch's detection costs one fsync'd commit.
    try {
      return await this.transaction(() => fn(this.detectionTransaction()));
    } finally {
      this.recent.endPass();
    }
  }

  /** Each window's events, in store order; a tenant's windows are taken together (one store read for what is not cached). */
  private eventsInWindows(windows: SourceWindow[]): SecurityEvent[][] {
    const byTenant = new Map<string, number[]>();
    windows.forEach((w, i) => {
      const indexes = byTenant.get(w.tenant);
      if (indexes) indexes.push(i);
      else byTenant.set(w.tenant, [i]);
    });
    const out = new Array<SecurityEvent[]>(windows.length);
    for (const [tenant, indexes] of byTenant) {
      this.recent.windows(tenant, indexes.map((i) => windows[i]!)).forEach((events, j) => (out[indexes[j]!] = events));
    }
    return out;
  }

  /** The incident's linked event ids and counts by kind: from the cache, or one scan of its links. */
  private linkedEvidence(incidentId: string): LinkedEvidence {
    let linked = this.linked.get(incidentId);
    if (!linked) {
      linked = { ids: new Set(), counts: new Map() };
      for (const r of this.all("SELECT event_id, kind FROM incident_events WHERE incident_id = ?", incidentId)) {
        linked.ids.add(String(r.event_id));
        linked.counts.set(String(r.kind), (linked.counts.get(String(r.kind)) ?? 0) + 1);
      }
      this.linkedIds += linked.ids.size;
      this.linked.set(incidentId, linked);
    }
    return linked;
  }

  /** Drops incidents at random until the cache holds at most `linkedEvidenceCacheSize` event ids. */
  private trimLinked(keep: string): void {
    this.linkedIds -= evictAtRandom(this.linked, (l) => l.ids.size, this.linkedIds - this.linkedEvidenceCacheSize, keep);
  }

  /**
   * A detection pass's reads and writes. Inside `transaction` (no `writes`) each runs at once. In a `detectQueued` pass,
   * reads queue behind other transactions until the pass's first write takes `writes`, and run at once after it.
   */
  private detectionTransaction(writes?: ReturnType<SqliteRepository["writeLock"]>): DetectionTransaction {
    const read = async <T>(fn: () => T): Promise<T> => {
      if (!writes) return fn();
      if (!writes.entering) return this.serialized(fn);
      await writes.enter();
      return fn();
    };
    const write = async <T>(fn: () => T): Promise<T> => {
      await writes?.enter();
      return fn();
    };
    const findMergeable = (q: MergeableIncidentQuery): Incident | undefined => {
      // Left alone, the planner walks incidents_by_last_seen for the ORDER BY: every recent incident of the tenant. rowid keeps its tie order.
      // An unresolved incident overlapping the window first; else (with the triggers' span) a resolved one holding it.
      const row = this.get(`SELECT * FROM incidents INDEXED BY incidents_dedupe WHERE tenant = ? AND source_ip = ? AND actor = ? AND detection_key = ?
        AND ((status <> 'resolved' AND last_seen >= ? AND first_seen <= ?) OR (status = 'resolved' AND first_seen <= ? AND last_seen >= ?))
        ORDER BY status = 'resolved', last_seen DESC, rowid LIMIT 1`,
      q.tenant, q.sourceIp, q.actor, q.detectionKey, q.from, q.to, q.triggers?.from ?? null, q.triggers?.to ?? null);
      return row ? incidentFromRow(row) : undefined;
    };
    const insertIncident = (i: Incident): void => {
      this.run(`INSERT INTO incidents (${incidentColumns.join(", ")}) VALUES (${marks(incidentColumns.length)})`, ...incidentValues(i));
    };
    const updateIncident = (i: Incident): void => {
      // updated_at only moves forward, by at least 1 ms: it is the incident's version (its ETag), so every change is a new one.
      this.run(`UPDATE incidents SET ${detectionUpdateColumns.map((c) => (c === "updated_at" ? "updated_at = max(?, updated_at + 1)" : `${c} = ?`)).join(", ")} WHERE id = ?`, ...detectionUpdateValues(i), i.id);
    };
    const linkEvidence = ({ tenant, incidentId, events }: EvidenceLinks): EvidenceSummary => {
      const linked = this.linkedEvidence(incidentId);
      const link = this.prepare("INSERT INTO incident_events (incident_id, tenant, event_id, kind, source, event_time) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
      let added = 0;
      for (const e of events) {
        if (linked.ids.has(e.id)) continue;
        linked.ids.add(e.id);
        if (Number(link.run(incidentId, tenant, e.id, e.kind, e.source, e.time).changes) === 1) {
          linked.counts.set(e.kind, (linked.counts.get(e.kind) ?? 0) + 1);
          added++;
        }
      }
      // Kinds in SQLite's BINARY order, as a GROUP BY .. ORDER BY kind over the links would return them.
      const evidence = evidenceFromCounts([...linked.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([kind, n]) => ({ kind, n })));
      if (added > 0) this.run("UPDATE incidents SET evidence = ? WHERE id = ?", JSON.stringify(evidence), incidentId);
      this.linkedIds += added;
      this.trimLinked(incidentId);
      return evidence;
    };
    // No round trips to save here: the batch forms are the single ones in a loop.
    return {
      readsFirst: writes !== undefined,
      eventsForSource: (tenant, sourceIp, from, to) => read(() => this.eventsInWindows([{ tenant, sourceIp, from, to }])[0]!),
      eventsForSources: (windows) => read(() => this.eventsInWindows(windows)),
      // An incident is looked up for a write (merging into it), so under the write transaction like the writes.
      findMergeableIncident: (q) => write(() => findMergeable(q)),
      findMergeableIncidents: (qs) => write(() => qs.map(findMergeable)),
      insertIncident: (i) => write(() => insertIncident(i)),
      updateIncident: (i) => write(() => updateIncident(i)),
      saveIncidents: (list) => write(() => {
        for (const { incident, created } of list) (created ? insertIncident : updateIncident)(incident);
      }),
      linkEvidence: (tenant, incidentId, events) => write(() => linkEvidence({ tenant, incidentId, events })),
      linkEvidenceTo: (links) => write(() => links.map(linkEvidence)),
    };
  }

  listIncidents(tenant: string, query: IncidentQuery): Promise<IncidentPage> {
    const { count, page, countParams, pageParams } = incidentListing(tenant, query, () => "?");
    return this.serialized(() => {
      const total = Number(this.get(count, ...countParams)?.n ?? 0);
      return { items: this.all(page, ...pageParams).map(incidentFromRow), total };
    });
  }

  getIncident(tenant: string, id: string): Promise<IncidentWithEvents | undefined> {
    return this.serialized(() => {
      const row = this.get("SELECT * FROM incidents WHERE tenant = ? AND id = ?", tenant, id);
      if (!row) return undefined;
      const events = this.all("SELECT event_id, kind, source, event_time FROM incident_events WHERE tenant = ? AND incident_id = ? ORDER BY event_time, event_id LIMIT ?",
        tenant, id, evidenceEventLimit).map(eventRefFromRow);
      return { ...incidentFromRow(row), events };
    });
  }

  setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number): Promise<Incident | undefined>;
  setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number, ifUpdatedAt: number | undefined): Promise<Incident | { conflict: Incident } | undefined>;
  setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number, ifUpdatedAt?: number): Promise<Incident | { conflict: Incident } | undefined> {
    return this.transaction(() => {
      if (ifUpdatedAt !== undefined) {
        const current = this.get("SELECT * FROM incidents WHERE tenant = ? AND id = ?", tenant, id);
        if (!current) return undefined;
        if (Number(current.updated_at) !== ifUpdatedAt) return { conflict: incidentFromRow(current) };
      }
      this.run("UPDATE incidents SET status = ?, status_changed_by = ?, updated_at = max(?, updated_at + 1) WHERE tenant = ? AND id = ?", status, changedBy, at, tenant, id);
      const row = this.get("SELECT * FROM incidents WHERE tenant = ? AND id = ?", tenant, id);
      return row ? incidentFromRow(row) : undefined;
    });
  }

  openIncidentCounts(): Promise<OpenIncidentCount[]> {
    return this.serialized(() => this.all("SELECT tenant, severity, count(*) AS n FROM incidents WHERE status <> 'resolved' GROUP BY tenant, severity")
      .map((r) => ({ tenant: String(r.tenant), severity: r.severity as OpenIncidentCount["severity"], count: Number(r.n) })));
  }

  findUser(tenant: string, username: string): Promise<UserRecord | undefined> {
    return this.serialized(() => {
      const row = this.get("SELECT * FROM users WHERE tenant = ? AND username = ?", tenant, username);
      return row ? userFromRow(row) : undefined;
    });
  }

  createUser(u: NewUser): Promise<boolean> {
    return this.transaction(() => this.run(
      "INSERT INTO users (tenant, username, password_hash, role, failed_logins, locked_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      u.tenant, u.username, u.passwordHash, u.role, u.failedLogins, u.lockedUntil, u.createdAt) === 1);
  }

  listUsers(tenant: string): Promise<UserRecord[]> {
    return this.serialized(() => this.all("SELECT * FROM users WHERE tenant = ? ORDER BY username", tenant).map(userFromRow));
  }

  recordFailedLogin(tenant: string, username: string, at: number, maxFailures: number, lockMs: number): Promise<LoginFailure> {
    return this.transaction(() => {
      // SET reads the row as it was: a count whose lock has run out, or whose last failure is `lockMs` old, starts afresh.
      const row = this.get(`UPDATE users SET failed_logins = ${freshCount("failures_expire_at")}, locked_until = ${lockAfterFailure("failures_expire_at")}, failures_expire_at = max(locked_until, ?3 + ?5)
        WHERE tenant = ?1 AND username = ?2 RETURNING failed_logins, locked_until`, tenant, username, at, maxFailures, lockMs);
      return { failedLogins: Number(row?.failed_logins ?? 0), lockedUntil: Number(row?.locked_until ?? 0) };
    });
  }

  unknownNameLockedUntil(tenant: string, nameDigest: string, at: number): Promise<number> {
    return this.serialized(() => Number(this.get("SELECT locked_until FROM unknown_login_names WHERE tenant = ? AND name_digest = ? AND locked_until > ?", tenant, nameDigest, at)?.locked_until ?? 0));
  }

  recordUnknownNameFailure(tenant: string, nameDigest: string, at: number, maxFailures: number, lockMs: number): Promise<LoginFailure> {
    return this.transaction(() => {
      // Counts that mean nothing any more go, more of them than each failure adds: a flood of distinct names leaves at
      // most the names that failed within `lockMs` (a few per second at most: each login is a bcrypt check).
      this.run(`DELETE FROM unknown_login_names WHERE (tenant, name_digest) IN
        (SELECT tenant, name_digest FROM unknown_login_names WHERE expires_at <= ? LIMIT ${expiredPerFailure})`, at);
      const row = this.get(`INSERT INTO unknown_login_names (tenant, name_digest, failed_logins, locked_until, expires_at)
        VALUES (?1, ?2, 1, CASE WHEN 1 >= ?4 THEN ?3 + ?5 ELSE 0 END, ?3 + ?5)
        ON CONFLICT (tenant, name_digest) DO UPDATE SET failed_logins = ${freshCount("expires_at")}, locked_until = ${lockAfterFailure("expires_at")}, expires_at = max(locked_until, ?3 + ?5)
        RETURNING failed_logins, locked_until`, tenant, nameDigest, at, maxFailures, lockMs);
      return { failedLogins: Number(row?.failed_logins ?? 0), lockedUntil: Number(row?.locked_until ?? 0) };
    });
  }

  recordSuccessfulLogin(tenant: string, username: string): Promise<void> {
    return this.transaction(() => {
      this.run("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE tenant = ? AND username = ?", tenant, username);
    });
  }

  setPassword(tenant: string, username: string, passwordHash: string, whileVersion?: number): Promise<UserRecord | undefined> {
    return this.transaction(() => {
      const row = this.get(`UPDATE users SET password_hash = ?, credentials_version = credentials_version + 1, failed_logins = 0, locked_until = 0
        WHERE tenant = ? AND username = ? AND (? IS NULL OR credentials_version = ?) RETURNING *`, passwordHash, tenant, username, whileVersion ?? null, whileVersion ?? null);
      return row ? userFromRow(row) : undefined;
    });
  }

  firstAdminSourceApplied(source: string): Promise<boolean> {
    return this.serialized(() => this.get("SELECT 1 AS x FROM first_admin_sources WHERE source = ?", source) !== undefined);
  }

  provisionFirstAdmin(admin: NewUser, source: string): Promise<FirstAdminOutcome> {
    return this.transaction((): FirstAdminOutcome => {
      // A value applied before is never applied again: a pod still on the old Secret during a rollout changes nothing.
      if (this.get("SELECT 1 AS x FROM first_admin_sources WHERE source = ?", source)) return "unchanged";
      const recorded = this.get("SELECT 1 AS x FROM first_admin_sources LIMIT 1");
      const exists = this.get("SELECT 1 AS x FROM users WHERE tenant = ? AND username = ?", admin.tenant, admin.username);
      let outcome: FirstAdminOutcome = "kept";
      if (!exists) {
        this.run("INSERT INTO users (tenant, username, password_hash, role, failed_logins, locked_until, created_at) VALUES (?, ?, ?, ?, 0, 0, ?)",
          admin.tenant, admin.username, admin.passwordHash, admin.role, admin.createdAt);
        outcome = "created";
      } else if (recorded) {
        this.run(`UPDATE users SET password_hash = ?, role = ?, credentials_version = credentials_version + 1, failed_logins = 0, locked_until = 0
          WHERE tenant = ? AND username = ?`, admin.passwordHash, admin.role, admin.tenant, admin.username);
        outcome = "reset";
      }
      this.run("INSERT INTO first_admin_sources (source, provisioned_at) VALUES (?, ?)", source, admin.createdAt);
      return outcome;
    });
  }

  revokeTokens(tenant: string, username: string): Promise<boolean> {
    return this.transaction(() => this.run("UPDATE users SET credentials_version = credentials_version + 1 WHERE tenant = ? AND username = ?", tenant, username) === 1);
  }

  deleteUser(tenant: string, username: string, keepAnAdmin = false): Promise<boolean | "last-admin"> {
    return this.transaction(() => {
      // One writer: the count and the delete are one transaction, after every other.
      if (keepAnAdmin) {
        const admins = this.all("SELECT username FROM users WHERE tenant = ? AND role = 'admin'", tenant);
        if (admins.length === 1 && admins[0]!.username === username) return "last-admin";
      }
      return this.run("DELETE FROM users WHERE tenant = ? AND username = ?", tenant, username) === 1;
    });
  }
}
