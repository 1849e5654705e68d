// PostgreSQL backend: the shared store for several replicas. Per tenant+source advisory locks serialize detection across them.
import pg from "pg";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { evidenceEventLimit, type EvidenceSummary, type Incident, type IncidentStatus, type IncidentWithEvents } from "../incidents/incident.ts";
import type { NewUser, UserRecord } from "../auth/user.ts";
import { defaultCacheSizes } from "./cacheSizing.ts";
import { evictAtRandom } from "./evictAtRandom.ts";
import { incidentListing } from "./incidentFilter.ts";
import { firstAdminLockKey, migrationLockKey, postgresSchema, pruneLockKey } from "./postgresSchema.ts";
import type { DetectionTransaction, EvidenceLinks, FirstAdminOutcome, IncidentPage, MergeableIncidentQuery, SourceWindow, IncidentQuery, LoginFailure, OpenIncidentCount, Repository } from "./repository.ts";
import { detectionUpdateColumns, detectionUpdateValues, eventColumns, eventFromRow, eventRefFromRow, eventValues, evidenceFromCounts, incidentColumns, incidentFromRow, incidentValues, userFromRow, type Row } from "./rows.ts";

type Queryable = pg.Pool | pg.PoolClient;
type Param = string | number | null | readonly (string | number | null)[];

const placeholders = (from: number, n: number) => Array.from({ length: n }, (_, i) => `$${from + i}`).join(", ");
/** Rows per INSERT statement, well under PostgreSQL's 65535 parameters. */
const insertChunk = 500;

/**
 * A failed login's new count and lock, over the row as it was (`$3` the failure's time, `$4` the failures that lock,
 * `$5` the lock's duration; `expiry` the column holding when the count starts afresh): a count starts afresh once its
 * lock has run out or its last failure is `lockMs` old; a running lock stays.
 */
const freshCount = (expiry: string, row = "") => `CASE WHEN greatest(${row}locked_until, ${expiry}) <= $3::bigint THEN 1 ELSE ${row}failed_logins + 1 END`;
const lockAfterFailure = (expiry: string, row = "") =>
  `CASE WHEN ${row}locked_until > $3::bigint THEN ${row}locked_until WHEN ${freshCount(expiry, row)} >= $4::int THEN $3::bigint + $5::bigint ELSE 0 END`;
/** Expired unknown-name counts removed per failure recorded. */
const expiredPerFailure = 100;

/** An incident's stored evidence column as a summary, kinds in code-point order. */
function summaryOf(evidence: unknown): EvidenceSummary {
  return evidenceFromCounts(Object.entries((evidence as EvidenceSummary | undefined)?.counts ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([kind, n]) => ({ kind, n })));
}

/** Links a detection transaction made, kept aside until it commits. */
type PendingLinks = { incidentId: string; ids: string[] }[];

/**
 * An error that leaves the connection unusable, or that means the server could not be reached: it ended (SQLSTATE
 * class 08), the server is shutting down or starting (57P01-57P03), too many connections (53300), or the socket
 * failed before PostgreSQL said anything.
 */
function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (code.startsWith("08") || ["57P01", "57P02", "57P03", "53300", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND"].includes(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(err.message);
}

export class PostgresRepository implements Repository {
  readonly driver = "postgres" as const;
  private readonly pool: pg.Pool;
  /**
   * Event ids this process's committed passes linked to each incident, so a pass sends only the evidence not linked
   * yet (it used to send every event of the window again, each pass). Links are never removed, so an id here is
   * linked; one another replica linked is not here, is sent, and is skipped by ON CONFLICT. Bounded; random eviction.
   */
  private readonly linked = new Map<string, Set<string>>();
  private linkedIds = 0;
  private windowEventsFromStore = 0;
  private readonly linkedEvidenceCacheSize: number;

  constructor(url: string, onError: (err: Error) => void = () => {}, linkedEvidenceIds = defaultCacheSizes.linkedEvidenceIds) {
    this.linkedEvidenceCacheSize = linkedEvidenceIds;
    this.pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, application_name: "minixdr-detector" });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on("error", onError);
  }

  private async rows(q: Queryable, sql: string, params: Param[] = []): Promise<Row[]> {
    return (await q.query(sql, params)).rows as Row[];
  }

  /** `fn` in one transaction; `links` it made are remembered once it has committed. */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, links?: PendingLinks): Promise<T> {
    const client = await this.pool.connect();
    // The pool listens for errors of idle clients only. A connection ended while checked out (a failover, a fast
    // shutdown, an administrator's pg_terminate_backend while a pass computes between queries) emits 'error' on the
    // client, and with no listener that killed the process; the transaction's next query fails instead, and the
    // broken connection is dropped rather than pooled.
    let lost: Error | undefined;
    const onLost = (err: Error) => {
      lost = err;
    };
    client.on("error", onLost);
    let failed: unknown;
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      if (links) this.remember(links);
      return result;
    } catch (err) {
      failed = err;
      if (!lost) await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.off("error", onLost);
      client.release(lost ?? (isConnectionError(failed) ? failed as Error : undefined));
    }
  }

  async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [migrationLockKey]);
      await c.query(postgresSchema);
    });
  }

  async ping(): Promise<void> {
    await this.pool.query("SELECT 1");
  }

  isUnavailableError(err: unknown): boolean {
    return isConnectionError(err);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  insertEvents(events: SecurityEvent[]): Promise<{ inserted: number }> {
    return this.transaction(async (c) => {
      let inserted = 0;
      for (let i = 0; i < events.length; i += insertChunk) {
        const chunk = events.slice(i, i + insertChunk);
        const values = chunk.map((_, n) => `(${placeholders(n * eventColumns.length + 1, eventColumns.length)})`).join(", ");
        // Each event actually stored is queued for detection by the same statement.
        const result = await c.query(`WITH stored AS (INSERT INTO events (${eventColumns.join(", ")}) VALUES ${values} ON CONFLICT DO NOTHING RETURNING tenant, id)
          INSERT INTO detection_queue (tenant, event_id) SELECT tenant, id FROM stored`, chunk.flatMap(eventValues));
        inserted += result.rowCount ?? 0;
      }
      return { inserted };
    });
  }

  pruneEvents(receivedBefore: number, limit: number): Promise<number> {
    return this.transaction(async (c) => {
      // One replica prunes at a time; the others find the lock taken and leave it to it.
      const [lock] = await this.rows(c, "SELECT pg_try_advisory_xact_lock($1) AS taken", [pruneLockKey]);
      if (lock?.taken !== true) return 0;
      // Found through the BRIN index on received_at (rows are appended roughly in arrival order). Events a pass has
      // claimed are still in detection_queue to everyone else until it commits.
      const result = await c.query(`DELETE FROM events WHERE ctid = ANY (ARRAY (SELECT ctid FROM events e WHERE e.received_at < $1
        AND NOT EXISTS (SELECT 1 FROM detection_queue q WHERE q.tenant = e.tenant AND q.event_id = e.id) LIMIT $2))`, [receivedBefore, limit]);
      return result.rowCount ?? 0;
    });
  }

  async countEvents(tenant: string): Promise<number> {
    return Number((await this.rows(this.pool, "SELECT count(*) AS n FROM events WHERE tenant = $1", [tenant]))[0]?.n ?? 0);
  }

  detectQueued<T>(limit: number, fn: (events: SecurityEvent[], tx: DetectionTransaction) => Promise<T>): Promise<{ events: number; result: T } | undefined> {
    const pending: PendingLinks = [];
    return this.transaction(async (c) => {
      // Rows another replica's pass holds are skipped; deleted here, they return to the queue if this pass fails.
      const rows = await this.rows(c, `WITH claimed AS (DELETE FROM detection_queue WHERE seq IN (SELECT seq FROM detection_queue ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING seq, tenant, event_id) SELECT e.body FROM claimed q JOIN events e ON e.tenant = q.tenant AND e.id = q.event_id ORDER BY q.seq`, [limit]);
      if (rows.length === 0) return undefined;
      const events = rows.map(eventFromRow);
      await this.lockSources(c, events);
      return { events: events.length, result: await fn(events, this.detectionTransaction(c, pending)) };
    }, pending);
  }

  windowEventsRead(): { memory: number; store: number } {
    return { memory: 0, store: this.windowEventsFromStore };
  }

  async countQueued(): Promise<number> {
    return Number((await this.rows(this.pool, "SELECT count(*) AS n FROM detection_queue"))[0]?.n ?? 0);
  }

  async anyQueued(events: { tenant: string; id: string }[]): Promise<boolean> {
    // A row a pass has claimed stays visible until that pass commits: "queued" until it is detected.
    const rows = await this.rows(this.pool, "SELECT 1 FROM detection_queue q JOIN unnest($1::text[], $2::text[]) AS k(tenant, id) ON q.tenant = k.tenant AND q.event_id = k.id LIMIT 1",
      [events.map((e) => e.tenant), events.map((e) => e.id)]);
    return rows.length > 0;
  }

  /** Takes the sources' advisory locks in key order in one statement, so passes locking overlapping sets cannot deadlock; held until commit. */
  private async lockSources(c: pg.PoolClient, sources: { tenant: string; sourceIp: string }[]): Promise<void> {
    await c.query(`SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest($1::text[]) AS s ORDER BY k) AS keys`,
      [sources.map((x) => `${x.tenant}/${x.sourceIp}`)]);
  }

  withSourceLock<T>(tenant: string, sourceIp: string, fn: (tx: DetectionTransaction) => Promise<T>): Promise<T> {
    const pending: PendingLinks = [];
    return this.transaction(async (c) => {
      // Held until commit: another replica's pass over this source waits, then sees these events and incidents.
      await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`${tenant}/${sourceIp}`]);
      return fn(this.detectionTransaction(c, pending));
    }, pending);
  }

  withSourceLocks<T>(sources: { tenant: string; sourceIp: string }[], fn: (tx: DetectionTransaction) => Promise<T>): Promise<T> {
    const pending: PendingLinks = [];
    return this.transaction(async (c) => {
      await this.lockSources(c, sources);
      return fn(this.detectionTransaction(c, pending));
    }, pending);
  }

  /** Every window's events in one query, split back per window. */
  private async eventsInWindows(c: pg.PoolClient, windows: SourceWindow[]): Promise<SecurityEvent[][]> {
    const result = windows.map((): SecurityEvent[] => []);
    if (windows.length === 0) return result;
    const rows = await this.rows(c, `SELECT w.n, e.body FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS w(n, tenant, source_ip, t_from, t_to)
      JOIN events e ON e.tenant = w.tenant AND e.source_ip = w.source_ip AND e.event_time BETWEEN w.t_from AND w.t_to ORDER BY w.n, e.event_time, e.id`,
    [windows.map((_, n) => n), windows.map((w) => w.tenant), windows.map((w) => w.sourceIp), windows.map((w) => w.from), windows.map((w) => w.to)]);
    for (const r of rows) result[Number(r.n)]!.push(eventFromRow(r));
    this.windowEventsFromStore += rows.length;
    return result;
  }

  private remember(links: PendingLinks): void {
    for (const { incidentId, ids } of links) {
      let known = this.linked.get(incidentId);
      if (!known) {
        known = new Set();
        this.linked.set(incidentId, known);
      }
      const before = known.size;
      for (const id of ids) known.add(id);
      this.linkedIds += known.size - before;
      this.linkedIds -= evictAtRandom(this.linked, (l) => l.size, this.linkedIds - this.linkedEvidenceCacheSize, incidentId);
    }
  }

  private detectionTransaction(c: pg.PoolClient, pending: PendingLinks): DetectionTransaction {
    /**
     * For each query, its newest overlapping unresolved incident, or failing that the newest resolved one holding the
     * query's triggers, in one round trip.
     */
    // Each incident found is locked until the pass commits: an analyst's status change waits for the merge, so a resolve
    // answered before it is never merged into (a resolved incident gaining new evidence the analyst never saw), and a
    // resolved incident a late record is linked to is not reopened under the pass (the reopen waits and covers it).
    const findMergeableIncidents = async (qs: readonly MergeableIncidentQuery[]): Promise<(Incident | undefined)[]> => {
      if (qs.length === 0) return [];
      const rows = await this.rows(c, `SELECT q.n, i.* FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
        AS q(n, tenant, source_ip, actor, detection_key, t_from, t_to, trigger_from, trigger_to)
        CROSS JOIN LATERAL (SELECT * FROM incidents WHERE tenant = q.tenant AND source_ip = q.source_ip AND actor = q.actor AND detection_key = q.detection_key
          AND ((status <> 'resolved' AND last_seen >= q.t_from AND first_seen <= q.t_to) OR (status = 'resolved' AND first_seen <= q.trigger_from AND last_seen >= q.trigger_to))
          ORDER BY status = 'resolved', last_seen DESC LIMIT 1 FOR UPDATE) AS i`,
      [qs.map((_, n) => n), qs.map((q) => q.tenant), qs.map((q) => q.sourceIp), qs.map((q) => q.actor), qs.map((q) => q.detectionKey), qs.map((q) => q.from), qs.map((q) => q.to),
        qs.map((q) => q.triggers?.from ?? null), qs.map((q) => q.triggers?.to ?? null)]);
      const found = qs.map((): Incident | undefined => undefined);
      for (const r of rows) found[Number(r.n)] = incidentFromRow(r);
      return found;
    };
    /** Links each incident's evidence, in three round trips at most. */
    const linkEvidenceTo = async (links: readonly EvidenceLinks[]): Promise<EvidenceSummary[]> => {
      // Only what no committed pass of this process linked yet, each event once per incident; then one recount
      // for the incidents that got links, and the stored summaries of the others.
      const rows: [string, string, string, string, string, number][] = [];
      const grew = new Set<string>();
      for (const { tenant, incidentId, events } of links) {
        const known = this.linked.get(incidentId);
        const seen = new Set<string>();
        const fresh = events.filter((e) => !known?.has(e.id) && !seen.has(e.id) && seen.add(e.id));
        if (fresh.length === 0) continue;
        grew.add(incidentId);
        pending.push({ incidentId, ids: fresh.map((e) => e.id) });
        for (const e of fresh) rows.push([incidentId, tenant, e.id, e.kind, e.source, e.time]);
      }
      const evidence = new Map<string, EvidenceSummary>();
      if (rows.length > 0) {
        await c.query(`INSERT INTO incident_events (incident_id, tenant, event_id, kind, source, event_time)
          SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) ON CONFLICT DO NOTHING`,
        [0, 1, 2, 3, 4, 5].map((col) => rows.map((r) => r[col]!)));
        for (const r of await this.rows(c, `WITH kinds AS (SELECT incident_id, kind, count(*) AS n FROM incident_events WHERE incident_id = ANY($1::uuid[]) GROUP BY incident_id, kind),
          summary AS (SELECT incident_id, jsonb_build_object('counts', jsonb_object_agg(kind, n), 'total', sum(n)) AS evidence FROM kinds GROUP BY incident_id)
          UPDATE incidents AS i SET evidence = s.evidence FROM summary AS s WHERE i.id = s.incident_id RETURNING i.id, i.evidence`, [[...grew]])) {
          evidence.set(String(r.id), summaryOf(r.evidence));
        }
      }
      const unchanged = links.map((l) => l.incidentId).filter((id) => !grew.has(id));
      if (unchanged.length > 0) {
        for (const r of await this.rows(c, "SELECT id, evidence FROM incidents WHERE id = ANY($1::uuid[])", [unchanged])) evidence.set(String(r.id), summaryOf(r.evidence));
      }
      return links.map((l) => evidence.get(l.incidentId) ?? { counts: {}, total: 0 });
    };
    return {
      eventsForSource: async (tenant, sourceIp, from, to) =>
        (await this.rows(c, "SELECT body FROM events WHERE tenant = $1 AND source_ip = $2 AND event_time BETWEEN $3 AND $4 ORDER BY event_time, id",
          [tenant, sourceIp, from, to])).map(eventFromRow),
      eventsForSources: (windows) => this.eventsInWindows(c, windows),
      insertIncident: async (i: Incident) => {
        await c.query(`INSERT INTO incidents (${incidentColumns.join(", ")}) VALUES (${placeholders(1, incidentColumns.length)})`, incidentValues(i));
      },
      updateIncident: async (i: Incident) => {
        // updated_at only moves forward, by at least 1 ms: it is the incident's version (its ETag).
        await c.query(`UPDATE incidents SET ${detectionUpdateColumns.map((col, n) => (col === "updated_at" ? `updated_at = GREATEST($${n + 1}, updated_at + 1)` : `${col} = $${n + 1}`)).join(", ")} WHERE id = $${detectionUpdateColumns.length + 1}`,
          [...detectionUpdateValues(i), i.id]);
      },
      findMergeableIncident: async (q) => (await findMergeableIncidents([q]))[0],
      findMergeableIncidents,
      saveIncidents: async (list) => {
        // Inserts and updates alike, a chunk of rows per statement (an update rewrites what updateIncident does).
        for (let i = 0; i < list.length; i += insertChunk) {
          const chunk = list.slice(i, i + insertChunk);
          const values = chunk.map((_, n) => `(${placeholders(n * incidentColumns.length + 1, incidentColumns.length)})`).join(", ");
          await c.query(`INSERT INTO incidents (${incidentColumns.join(", ")}) VALUES ${values}
            ON CONFLICT (id) DO UPDATE SET ${detectionUpdateColumns.map((col) => (col === "updated_at" ? "updated_at = GREATEST(EXCLUDED.updated_at, incidents.updated_at + 1)" : `${col} = EXCLUDED.${col}`)).join(", ")}`,
            chunk.flatMap(({ incident }) => incidentValues(incident)));
        }
      },
      linkEvidenceTo,
      linkEvidence: async (tenant, incidentId, events) => (await linkEvidenceTo([{ tenant, incidentId, events }]))[0]!,
    };
  }

  async listIncidents(tenant: string, query: IncidentQuery): Promise<IncidentPage> {
    const { count, page, countParams, pageParams } = incidentListing(tenant, query, (n) => `$${n}`);
    const total = Number((await this.rows(this.pool, count, countParams))[0]?.n ?? 0);
    return { items: (await this.rows(this.pool, page, pageParams)).map(incidentFromRow), total };
  }

  async getIncident(tenant: string, id: string): Promise<IncidentWithEvents | undefined> {
    const [row] = await this.rows(this.pool, "SELECT * FROM incidents WHERE tenant = $1 AND id::text = $2", [tenant, id]);
    if (!row) return undefined;
    const events = (await this.rows(this.pool, "SELECT event_id, kind, source, event_time FROM incident_events WHERE tenant = $1 AND incident_id::text = $2 ORDER BY event_time, event_id LIMIT $3",
      [tenant, id, evidenceEventLimit])).map(eventRefFromRow);
    return { ...incidentFromRow(row), events };
  }

  setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number): Promise<Incident | undefined>;
  setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number, ifUpdatedAt: number | undefined): Promise<Incident | { conflict: Incident } | undefined>;
  async setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number, ifUpdatedAt?: number): Promise<Incident | { conflict: Incident } | undefined> {
    // One statement: the condition and the change are atomic, as a detection pass's merge may land in between.
    const [row] = await this.rows(this.pool, `UPDATE incidents SET status = $1, status_changed_by = $2, updated_at = GREATEST($3, updated_at + 1)
      WHERE tenant = $4 AND id::text = $5 AND ($6::bigint IS NULL OR updated_at = $6) RETURNING *`, [status, changedBy, at, tenant, id, ifUpdatedAt ?? null]);
    if (row) return incidentFromRow(row);
    if (ifUpdatedAt === undefined) return undefined;
    const [current] = await this.rows(this.pool, "SELECT * FROM incidents WHERE tenant = $1 AND id::text = $2", [tenant, id]);
    return current ? { conflict: incidentFromRow(current) } : undefined;
  }

  async openIncidentCounts(): Promise<OpenIncidentCount[]> {
    return (await this.rows(this.pool, "SELECT tenant, severity, count(*) AS n FROM incidents WHERE status <> 'resolved' GROUP BY tenant, severity"))
      .map((r) => ({ tenant: String(r.tenant), severity: r.severity as OpenIncidentCount["severity"], count: Number(r.n) }));
  }

  async findUser(tenant: string, username: string): Promise<UserRecord | undefined> {
    const [row] = await this.rows(this.pool, "SELECT * FROM users WHERE tenant = $1 AND username = $2", [tenant, username]);
    return row ? userFromRow(row) : undefined;
  }

  async createUser(u: NewUser): Promise<boolean> {
    const result = await this.pool.query(
      "INSERT INTO users (tenant, username, password_hash, role, failed_logins, locked_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
      [u.tenant, u.username, u.passwordHash, u.role, u.failedLogins, u.lockedUntil, u.createdAt]);
    return result.rowCount === 1;
  }

  async listUsers(tenant: string): Promise<UserRecord[]> {
    return (await this.rows(this.pool, "SELECT * FROM users WHERE tenant = $1 ORDER BY username", [tenant])).map(userFromRow);
  }

  async recordFailedLogin(tenant: string, username: string, at: number, maxFailures: number, lockMs: number): Promise<LoginFailure> {
    // One statement, so failures counted by several replicas at once all count; SET reads the row as it was: a count
    // whose lock has run out, or whose last failure is `lockMs` old, starts afresh.
    const [row] = await this.rows(this.pool, `UPDATE users SET failed_logins = ${freshCount("failures_expire_at")}, locked_until = ${lockAfterFailure("failures_expire_at")},
        failures_expire_at = greatest(locked_until, $3::bigint + $5::bigint)
      WHERE tenant = $1 AND username = $2 RETURNING failed_logins, locked_until`, [tenant, username, at, maxFailures, lockMs]);
    return { failedLogins: Number(row?.failed_logins ?? 0), lockedUntil: Number(row?.locked_until ?? 0) };
  }

  async unknownNameLockedUntil(tenant: string, nameDigest: string, at: number): Promise<number> {
    const [row] = await this.rows(this.pool, "SELECT locked_until FROM unknown_login_names WHERE tenant = $1 AND name_digest = $2 AND locked_until > $3", [tenant, nameDigest, at]);
    return Number(row?.locked_until ?? 0);
  }

  async recordUnknownNameFailure(tenant: string, nameDigest: string, at: number, maxFailures: number, lockMs: number): Promise<LoginFailure> {
    // Counts that mean nothing any more go, more of them than each failure adds: a flood of distinct names leaves at
    // most the names that failed within `lockMs` (a few per second per replica at most: each login is a bcrypt check).
    // Rows another replica is removing or counting are left to it.
    await this.pool.query(`DELETE FROM unknown_login_names WHERE (tenant, name_digest) IN
      (SELECT tenant, name_digest FROM unknown_login_names WHERE expires_at <= $1 LIMIT ${expiredPerFailure} FOR UPDATE SKIP LOCKED)`, [at]);
    // One statement, as for accounts: failures counted by several replicas at once all count.
    const [row] = await this.rows(this.pool, `INSERT INTO unknown_login_names AS n (tenant, name_digest, failed_logins, locked_until, expires_at)
        VALUES ($1, $2, 1, CASE WHEN 1 >= $4::int THEN $3::bigint + $5::bigint ELSE 0 END, $3::bigint + $5::bigint)
      ON CONFLICT (tenant, name_digest) DO UPDATE SET failed_logins = ${freshCount("n.expires_at", "n.")}, locked_until = ${lockAfterFailure("n.expires_at", "n.")},
        expires_at = greatest(n.locked_until, $3::bigint + $5::bigint)
      RETURNING failed_logins, locked_until`, [tenant, nameDigest, at, maxFailures, lockMs]);
    return { failedLogins: Number(row?.failed_logins ?? 0), lockedUntil: Number(row?.locked_until ?? 0) };
  }

  async recordSuccessfulLogin(tenant: string, username: string): Promise<void> {
    await this.pool.query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE tenant = $1 AND username = $2", [tenant, username]);
  }

  async setPassword(tenant: string, username: string, passwordHash: string, whileVersion?: number): Promise<UserRecord | undefined> {
    const [row] = await this.rows(this.pool, `UPDATE users SET password_hash = $3, credentials_version = credentials_version + 1, failed_logins = 0, locked_until = 0
      WHERE tenant = $1 AND username = $2 AND ($4::int IS NULL OR credentials_version = $4) RETURNING *`, [tenant, username, passwordHash, whileVersion ?? null]);
    return row ? userFromRow(row) : undefined;
  }

  async firstAdminSourceApplied(source: string): Promise<boolean> {
    return (await this.pool.query("SELECT 1 AS x FROM first_admin_sources WHERE source = $1", [source])).rows.length > 0;
  }

  provisionFirstAdmin(admin: NewUser, source: string): Promise<FirstAdminOutcome> {
    return this.transaction(async (c): Promise<FirstAdminOutcome> => {
      // Replicas starting together: one provisions, the others then find its record.
      await c.query("SELECT pg_advisory_xact_lock($1)", [firstAdminLockKey]);
      // A value applied before is never applied again: a pod still on the old Secret during a rollout changes nothing.
      if ((await this.rows(c, "SELECT 1 AS x FROM first_admin_sources WHERE source = $1", [source])).length > 0) return "unchanged";
      const [recorded] = await this.rows(c, "SELECT 1 AS x FROM first_admin_sources LIMIT 1");
      const [exists] = await this.rows(c, "SELECT 1 AS x FROM users WHERE tenant = $1 AND username = $2", [admin.tenant, admin.username]);
      let outcome: FirstAdminOutcome = "kept";
      if (!exists) {
        await c.query("INSERT INTO users (tenant, username, password_hash, role, failed_logins, locked_until, created_at) VALUES ($1, $2, $3, $4, 0, 0, $5)",
          [admin.tenant, admin.username, admin.passwordHash, admin.role, admin.createdAt]);
        outcome = "created";
      } else if (recorded) {
        await c.query(`UPDATE users SET password_hash = $3, role = $4, credentials_version = credentials_version + 1, failed_logins = 0, locked_until = 0
          WHERE tenant = $1 AND username = $2`, [admin.tenant, admin.username, admin.passwordHash, admin.role]);
        outcome = "reset";
      }
      await c.query("INSERT INTO first_admin_sources (source, provisioned_at) VALUES ($1, $2)", [source, admin.createdAt]);
      return outcome;
    });
  }

  async revokeTokens(tenant: string, username: string): Promise<boolean> {
    return (await this.pool.query("UPDATE users SET credentials_version = credentials_version + 1 WHERE tenant = $1 AND username = $2", [tenant, username])).rowCount === 1;
  }

  async deleteUser(tenant: string, username: string, keepAnAdmin = false): Promise<boolean | "last-admin"> {
    return this.transaction(async (c) => {
      if (keepAnAdmin) {
        // The tenant's admin rows locked (in one order): a concurrent delete of another admin waits here, then sees
        // that row gone (READ COMMITTED re-reads what it waited for).
        const admins = await this.rows(c, "SELECT username FROM users WHERE tenant = $1 AND role = 'admin' ORDER BY username FOR UPDATE", [tenant]);
        if (admins.length === 1 && admins[0]!.username === username) return "last-admin";
      }
      return (await c.query("DELETE FROM users WHERE tenant = $1 AND username = $2", [tenant, username])).rowCount === 1;
    });
  }
}
