// The one storage interface: SQLite (embedded, one replica) and PostgreSQL (several replicas) both implement it.
import type { EventRef, SecurityEvent } from "../events/securityEvent.ts";
import type { Incident, IncidentStatus, IncidentWithEvents, EvidenceSummary, Severity } from "../incidents/incident.ts";
import type { NewUser, UserRecord } from "../auth/user.ts";

/** The orders a listing offers, newest first: by last activity (it changes as detection merges new events) or by creation (never changes). */
export const incidentSorts = ["lastSeen", "createdAt"] as const;
export type IncidentSort = (typeof incidentSorts)[number];

/** A position in a listing: the sort key (ms) and id of the last incident a page returned. */
export interface IncidentPosition {
  key: number;
  id: string;
}

export interface IncidentQuery {
  status?: IncidentStatus;
  severity?: Severity;
  technique?: string;
  sourceIp?: string;
  /** Only incidents whose last event is at or after this event time (ms). */
  since?: number;
  /** Newest first by last activity (the default) or by creation; ties by id, descending. */
  sort?: IncidentSort;
  /** Only incidents after this position in the order (keyset paging: a page starts where the last one ended). */
  after?: IncidentPosition;
  limit: number;
  /** Incidents skipped (after `after`, if given). */
  offset: number;
}

export interface IncidentPage {
  items: Incident[];
  total: number;
}

export interface MergeableIncidentQuery {
  tenant: string;
  sourceIp: string;
  actor: string;
  detectionKey: string;
  /** Event-time span (ms) an unresolved incident must overlap to absorb a new detection. */
  from: number;
  to: number;
  /**
   * The event-time span (ms) of the detection's triggers (the events of this pass that made it). When no unresolved
   * incident overlaps [from, to], a resolved incident whose span [firstSeen, lastSeen] holds all of it is returned:
   * the detection is a late record of activity an analyst already resolved (a second sensor, a slow forwarder), not new
   * activity. Without it, resolved incidents are never returned.
   */
  triggers?: { from: number; to: number };
}

/** One tenant+source and the event-time span [from, to] (ms) of its window. */
export interface SourceWindow {
  tenant: string;
  sourceIp: string;
  from: number;
  to: number;
}

/** Reads and writes of one detection pass, made while holding the tenant+source lock in one transaction. */
export interface DetectionTransaction {
  /**
   * The pass's first write takes the store's only write lock (SQLite), so the engine makes every read of the pass, and
   * its computation, before writing anything: ingest commits meanwhile. Otherwise (PostgreSQL: the transaction holds
   * only the pass's source locks) it reads and writes a chunk of sources at a time, so a pass's windows are never all
   * in memory at once.
   */
  readonly readsFirst?: boolean;
  /** Events of this tenant and source with event time in [from, to], oldest first. */
  eventsForSource(tenant: string, sourceIp: string, from: number, to: number): Promise<SecurityEvent[]>;
  /** `eventsForSource` for several windows at once (fewer round trips): one list per window, in the windows' order. */
  eventsForSources(windows: SourceWindow[]): Promise<SecurityEvent[][]>;
  /**
   * The newest unresolved incident of the query's tenant+source+actor+key overlapping [from, to]; failing that (with
   * `triggers`), the newest resolved one whose span holds the triggers' span.
   */
  findMergeableIncident(q: MergeableIncidentQuery): Promise<Incident | undefined>;
  insertIncident(incident: Incident): Promise<void>;
  updateIncident(incident: Incident): Promise<void>;
  /** Links events to an incident (idempotently) and returns the incident's evidence counts afterwards. */
  linkEvidence(tenant: string, incidentId: string, events: readonly EventRef[]): Promise<EvidenceSummary>;
  /**
   * The batch forms a pass records with (a few round trips per chunk of sources, not a few per detection):
   * `findMergeableIncident` for each query, in order (one round trip); an incident found is held (PostgreSQL: FOR
   * UPDATE) until the pass ends, resolved ones included;
   */
  findMergeableIncidents(queries: readonly MergeableIncidentQuery[]): Promise<(Incident | undefined)[]>;
  /** `insertIncident` for each created incident and `updateIncident` for each other; */
  saveIncidents(incidents: readonly { incident: Incident; created: boolean }[]): Promise<void>;
  /** `linkEvidence` for each incident (distinct incidents), the summaries in order. */
  linkEvidenceTo(links: readonly EvidenceLinks[]): Promise<EvidenceSummary[]>;
}

export interface EvidenceLinks {
  tenant: string;
  incidentId: string;
  events: readonly EventRef[];
}

export interface LoginFailure {
  failedLogins: number;
  lockedUntil: number;
}

export interface OpenIncidentCount {
  tenant: string;
  severity: Severity;
  count: number;
}

/**
 * What provisioning the first admin did: `created` it, gave it the Secret's new password (`reset`), `kept` an admin
 * that existed before provisioning was recorded (its password may have been changed since), or nothing (`unchanged`:
 * the Secret's value was applied before, whatever became of the admin since; an older value, e.g. from a pod not yet
 * rolled, is never applied again).
 */
export type FirstAdminOutcome = "created" | "reset" | "kept" | "unchanged";

export interface Repository {
  readonly driver: "sqlite" | "postgres";
  /** Creates or upgrades the schema; safe to run from several replicas at once. */
  migrate(): Promise<void>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /**
   * Whether an error is the store's own (the database could not be reached, the connection was lost, its volume is
   * full or failing: a retry may pass once that is over), rather than that the work itself failed: detection does not
   * count such a failure against the events of the pass.
   */
  isUnavailableError(err: unknown): boolean;
  close(): Promise<void>;

  /**
   * Stores events durably (committed before it resolves) and, in the same transaction, queues each for detection;
   * an event already stored (same tenant and id) is skipped.
   */
  insertEvents(events: SecurityEvent[]): Promise<{ inserted: number }>;
  /**
   * Claims up to `limit` events queued for detection, oldest first, and runs `fn` over them in one transaction that
   * holds their tenant+source locks (as `withSourceLocks`). When `fn` succeeds they leave the queue with its commit;
   * when it throws, nothing of the pass is kept and they stay queued. Undefined when nothing is queued that another
   * replica is not already detecting. (SQLite takes its write transaction at the pass's first write, not before its
   * reads: see `DetectionTransaction.readsFirst`.)
   */
  detectQueued<T>(limit: number, fn: (events: SecurityEvent[], tx: DetectionTransaction) => Promise<T>): Promise<{ events: number; result: T } | undefined>;
  /** Events queued for detection, by every replica. */
  countQueued(): Promise<number>;
  /**
   * Events this process's detection windows have taken so far, by where they came from: memory, or read from the
   * database (SQLite: what lay before its event cache, sized from the memory limit; PostgreSQL: every window).
   */
  windowEventsRead(): { memory: number; store: number };
  /** Whether any of these stored events are still queued for detection (here or on another replica). */
  anyQueued(events: { tenant: string; id: string }[]): Promise<boolean>;
  countEvents(tenant: string): Promise<number>;
  /**
   * Deletes up to `limit` stored events, of any tenant, received before `receivedBefore` and no longer queued for
   * detection, the earliest received first; resolves with how many. Incidents and their evidence references stay.
   * Callers repeat until fewer than `limit` come back. (SQLite keeps its newest row, whenever received: the queue is
   * every rowid above a mark.)
   */
  pruneEvents(receivedBefore: number, limit: number): Promise<number>;
  /**
   * Runs `fn` in one transaction while holding a lock on the tenant+source, shared by every replica on the same
   * database, so concurrent detection passes over the same source are serialized and see each other's events.
   */
  withSourceLock<T>(tenant: string, sourceIp: string, fn: (tx: DetectionTransaction) => Promise<T>): Promise<T>;
  /** `withSourceLock` over several tenant+sources in one transaction (one commit per batch); locks are taken in one global order. */
  withSourceLocks<T>(sources: { tenant: string; sourceIp: string }[], fn: (tx: DetectionTransaction) => Promise<T>): Promise<T>;

  listIncidents(tenant: string, query: IncidentQuery): Promise<IncidentPage>;
  getIncident(tenant: string, id: string): Promise<IncidentWithEvents | undefined>;
  /**
   * Sets an incident's status; undefined when the tenant has no such incident. With `ifUpdatedAt` (an If-Match), only
   * when the incident is still as last read (its updatedAt): otherwise nothing changes and the current incident comes
   * back as `{ conflict }`.
   */
  setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number): Promise<Incident | undefined>;
  setIncidentStatus(tenant: string, id: string, status: IncidentStatus, changedBy: string, at: number, ifUpdatedAt: number | undefined): Promise<Incident | { conflict: Incident } | undefined>;
  openIncidentCounts(): Promise<OpenIncidentCount[]>;

  findUser(tenant: string, username: string): Promise<UserRecord | undefined>;
  /** Creates a user; false when the tenant already has one by that name. */
  createUser(user: NewUser): Promise<boolean>;
  /**
   * Sets a user's password (credentials version + 1, lockout ended). With `whileVersion`, only while the user is still
   * at that credentials version: undefined when the user is gone or their password changed meanwhile.
   */
  setPassword(tenant: string, username: string, passwordHash: string, whileVersion?: number): Promise<UserRecord | undefined>;
  /**
   * Raises the user's credentials version, password untouched: every token issued so far stops working (a logout that
   * signs the user out of every session). False when there is no such user.
   */
  revokeTokens(tenant: string, username: string): Promise<boolean>;
  /**
   * Whether the user existed (their tokens stop working with it). With `keepAnAdmin`, a tenant's only admin is not
   * deleted (`"last-admin"`), checked atomically with the delete across replicas: two admins deleting each other at
   * once leave one of them.
   */
  deleteUser(tenant: string, username: string, keepAnAdmin?: boolean): Promise<boolean | "last-admin">;
  /** Provisions the first admin from the Secret's value `source` (a digest), atomically across replicas (`FirstAdminOutcome`). */
  provisionFirstAdmin(admin: NewUser, source: string): Promise<FirstAdminOutcome>;
  /** Whether the first admin was provisioned from `source` before (then provisioning it again changes nothing). */
  firstAdminSourceApplied(source: string): Promise<boolean>;
  listUsers(tenant: string): Promise<UserRecord[]>;
  /**
   * Counts a failed login atomically; once `maxFailures` is reached the account is locked until `at + lockMs`. A count
   * starts afresh once its lock has run out, or `lockMs` after its last failure when it did not lock.
   */
  recordFailedLogin(tenant: string, username: string, at: number, maxFailures: number, lockMs: number): Promise<LoginFailure>;
  /**
   * When the login name that is no account with this digest (`nameDigest`, never the name: it may be a mistyped
   * password) is locked until, if it is locked at `at`; 0 if not.
   */
  unknownNameLockedUntil(tenant: string, nameDigest: string, at: number): Promise<number>;
  /**
   * `recordFailedLogin` for a login name that is no account, by its digest: counted in the store like an account's
   * failures (same threshold, lock and expiry), so a 423 does not tell that an account exists. Removes expired counts
   * as it goes, so the store holds only the names that failed within the last `lockMs` or are locked.
   */
  recordUnknownNameFailure(tenant: string, nameDigest: string, at: number, maxFailures: number, lockMs: number): Promise<LoginFailure>;
  recordSuccessfulLogin(tenant: string, username: string): Promise<void>;
}
