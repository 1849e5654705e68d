// PostgreSQL schema (shared store for several replicas).
import { incidentStatuses, severities } from "../incidents/incident.ts";
import { roles } from "../auth/user.ts";

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/** Advisory lock key that serializes schema migration across replicas starting together. */
export const migrationLockKey = 0x6d696e69;
/** Advisory lock key held by the replica pruning old events (`pruneEvents`), so only one prunes at a time. */
export const pruneLockKey = 0x6d696e70;
/** Advisory lock key held while a replica provisions the first admin. */
export const firstAdminLockKey = 0x6d696e61;

export const postgresSchema = `
CREATE TABLE IF NOT EXISTS events (
  tenant TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
  event_time BIGINT NOT NULL, received_at BIGINT NOT NULL, source_ip TEXT NOT NULL, actor TEXT NOT NULL,
  body JSONB NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS events_by_source ON events (tenant, source_ip, event_time);
-- For retention (pruneEvents): a block-range index, a few pages for millions of rows appended in arrival order.
CREATE INDEX IF NOT EXISTS events_by_arrival ON events USING brin (received_at);
CREATE TABLE IF NOT EXISTS incidents (
  id UUID PRIMARY KEY, tenant TEXT NOT NULL, source_ip TEXT NOT NULL, actor TEXT NOT NULL, detection_key TEXT NOT NULL,
  techniques JSONB NOT NULL, severity TEXT NOT NULL CHECK (severity IN (${list(severities)})), risk_score INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN (${list(incidentStatuses)})),
  first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, summary TEXT NOT NULL, evidence JSONB NOT NULL, detected_by JSONB NOT NULL,
  recommended_action JSONB, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, status_changed_by TEXT
);
-- The list's orders (store/incidentFilter.ts): a page after a (sort key, id) position is a range of one of these,
-- read newest first and stopped after the page. Files from before keyset paging had (tenant, last_seen DESC) only.
DROP INDEX IF EXISTS incidents_by_tenant;
CREATE INDEX IF NOT EXISTS incidents_by_last_seen ON incidents (tenant, last_seen, id);
CREATE INDEX IF NOT EXISTS incidents_by_created ON incidents (tenant, created_at, id);
CREATE INDEX IF NOT EXISTS incidents_dedupe ON incidents (tenant, source_ip, detection_key, actor);
CREATE TABLE IF NOT EXISTS incident_events (
  incident_id UUID NOT NULL REFERENCES incidents (id), tenant TEXT NOT NULL, event_id TEXT NOT NULL,
  kind TEXT NOT NULL, source TEXT NOT NULL, event_time BIGINT NOT NULL,
  PRIMARY KEY (incident_id, event_id)
);
CREATE TABLE IF NOT EXISTS users (
  tenant TEXT NOT NULL, username TEXT NOT NULL, password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN (${list(roles)})),
  failed_logins INTEGER NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL,
  credentials_version INTEGER NOT NULL DEFAULT 0,
  -- When the failure count starts afresh (its lock ran out, or its last failure is a lock's duration old).
  failures_expire_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, username)
);
-- Failed logins of names that are no account, counted as an account's are (so a 423 does not tell that one exists),
-- by a keyed digest of the name (it may be a mistyped password). A row means nothing from expires_at on, when it is removed.
CREATE TABLE IF NOT EXISTS unknown_login_names (
  tenant TEXT NOT NULL, name_digest TEXT NOT NULL, failed_logins INTEGER NOT NULL, locked_until BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, name_digest)
);
CREATE INDEX IF NOT EXISTS unknown_login_names_by_expiry ON unknown_login_names (expires_at);
-- Stored events awaiting detection, in arrival order (written with each insert, deleted by the pass that detects
-- them; a pass claims rows FOR UPDATE SKIP LOCKED, so replicas share the queue).
-- Every Secret value the first admin was provisioned from (digests): only a value not seen before is applied.
CREATE TABLE IF NOT EXISTS first_admin_sources (source TEXT PRIMARY KEY, provisioned_at BIGINT NOT NULL);
-- Databases from before rollouts were safe recorded one Secret value (table first_admin): it is still applied, so a
-- deleted admin stays deleted across the upgrade.
DO $$ BEGIN
  IF to_regclass('first_admin') IS NOT NULL THEN
    INSERT INTO first_admin_sources (source, provisioned_at) SELECT source, provisioned_at FROM first_admin ON CONFLICT DO NOTHING;
    DROP TABLE first_admin;
  END IF;
END $$;
-- Databases from before password changes: their users start at credentials version 0.
ALTER TABLE users ADD COLUMN IF NOT EXISTS credentials_version INTEGER NOT NULL DEFAULT 0;
-- Databases from before failure counts expired: a count with no lock running starts afresh at the next failure.
ALTER TABLE users ADD COLUMN IF NOT EXISTS failures_expire_at BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS detection_queue (seq BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, event_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS detection_queue_by_event ON detection_queue (tenant, event_id);
`;
