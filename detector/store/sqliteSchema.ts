// SQLite schema (embedded store for a single replica).
import { incidentStatuses, severities } from "../incidents/incident.ts";
import { roles } from "../auth/user.ts";

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

export const sqliteSchema = `
CREATE TABLE IF NOT EXISTS events (
  tenant TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
  event_time INTEGER NOT NULL, received_at INTEGER NOT NULL, source_ip TEXT NOT NULL, actor TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (tenant, id)
);
-- By time, not by source: with many active sources an index by source took a page per source on every insert. The
-- detection windows come from memory (store/recentEvents.ts), which reads the store by time; source_ip is in the index
-- so a read for some sources skips the others' rows without reading them.
CREATE INDEX IF NOT EXISTS events_by_time ON events (tenant, event_time, source_ip);
CREATE TABLE IF NOT EXISTS incidents (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, source_ip TEXT NOT NULL, actor TEXT NOT NULL, detection_key TEXT NOT NULL,
  techniques TEXT NOT NULL, severity TEXT NOT NULL CHECK (severity IN (${list(severities)})), risk_score INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN (${list(incidentStatuses)})),
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, summary TEXT NOT NULL, evidence TEXT NOT NULL, detected_by TEXT NOT NULL,
  recommended_action TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, status_changed_by TEXT
);
-- The list's orders (store/incidentFilter.ts): a page after a (sort key, id) position is a range of one of these,
-- read newest first and stopped after the page. Files from before keyset paging had (tenant, last_seen DESC) only.
DROP INDEX IF EXISTS incidents_by_tenant;
CREATE INDEX IF NOT EXISTS incidents_by_last_seen ON incidents (tenant, last_seen, id);
CREATE INDEX IF NOT EXISTS incidents_by_created ON incidents (tenant, created_at, id);
CREATE INDEX IF NOT EXISTS incidents_dedupe ON incidents (tenant, source_ip, detection_key, actor);
CREATE TABLE IF NOT EXISTS incident_events (
  incident_id TEXT NOT NULL REFERENCES incidents (id), tenant TEXT NOT NULL, event_id TEXT NOT NULL,
  kind TEXT NOT NULL, source TEXT NOT NULL, event_time INTEGER NOT NULL,
  PRIMARY KEY (incident_id, event_id)
);
CREATE TABLE IF NOT EXISTS users (
  tenant TEXT NOT NULL, username TEXT NOT NULL, password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN (${list(roles)})),
  failed_logins INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
  credentials_version INTEGER NOT NULL DEFAULT 0,
  -- When the failure count starts afresh (its lock ran out, or its last failure is a lock's duration old).
  failures_expire_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, username)
);
-- Failed logins of names that are no account, counted as an account's are (so a 423 does not tell that one exists),
-- by a keyed digest of the name (it may be a mistyped password). A row means nothing from expires_at on, when it is removed.
CREATE TABLE IF NOT EXISTS unknown_login_names (
  tenant TEXT NOT NULL, name_digest TEXT NOT NULL, failed_logins INTEGER NOT NULL, locked_until INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, name_digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS unknown_login_names_by_expiry ON unknown_login_names (expires_at);
-- The detection queue: every event whose rowid is above detected_through (pruning never deletes the newest row, so rowids only grow).
-- Every Secret value the first admin was provisioned from (digests): only a value not seen before is applied.
CREATE TABLE IF NOT EXISTS first_admin_sources (source TEXT PRIMARY KEY, provisioned_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS detection_progress (id INTEGER PRIMARY KEY CHECK (id = 1), detected_through INTEGER NOT NULL);
`;
