// The repository contract on a real PostgreSQL server, and the upgrade of a database an earlier version wrote.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { usePostgres } from "../../test/support/postgres.ts";
import { incidentListing } from "./incidentFilter.ts";
import { PostgresRepository } from "./postgresRepository.ts";
import type { IncidentQuery } from "./repository.ts";
import { incident, repositoryContract } from "./repositoryContract.ts";

const postgres = await usePostgres("contract");

repositoryContract("PostgreSQL", () => Promise.resolve(new PostgresRepository(postgres.url)), postgres.unavailable || undefined);

describe.skipIf(postgres.unavailable !== "")("PostgreSQL schema upgrade", () => {
  it("gives the users of a database from before password changes credentials version 0, keeping their passwords", async () => {
    const url = await postgres.freshDatabase("upgrade");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE TABLE users (tenant TEXT NOT NULL, username TEXT NOT NULL, password_hash TEXT NOT NULL, role TEXT NOT NULL,
      failed_logins INTEGER NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, PRIMARY KEY (tenant, username));
      INSERT INTO users VALUES ('default', 'admin', '$2b$12$old', 'admin', 0, 0, 1);`);
    await client.end();
    const store = new PostgresRepository(url);
    await store.migrate();
    expect(await store.findUser("default", "admin")).toMatchObject({ passwordHash: "$2b$12$old", credentialsVersion: 0, role: "admin" });
    expect((await store.setPassword("default", "admin", "$2b$12$new"))?.credentialsVersion).toBe(1);
    await store.migrate();
    expect(await store.findUser("default", "admin")).toMatchObject({ passwordHash: "$2b$12$new", credentialsVersion: 1 });
    await store.close();
  });
});

describe.skipIf(postgres.unavailable !== "")("PostgreSQL incident list pages", () => {
  it("reads a page after a cursor's position as a range of an index, newest first, never sorting the tenant's incidents; a database from before gets the indexes", async () => {
    const url = await postgres.freshDatabase("keyset_plan");
    const store = new PostgresRepository(url);
    await store.migrate();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // A database from before keyset paging: incidents indexed by (tenant, last_seen DESC) only.
      await client.query("DROP INDEX incidents_by_last_seen, incidents_by_created; CREATE INDEX incidents_by_tenant ON incidents (tenant, last_seen DESC)");
      await store.migrate();
      const made = Array.from({ length: 6000 }, (_, n) => incident(["default", "acme", "other"][n % 3]!, { lastSeen: 1000 + n, createdAt: 10_000 - n, status: n % 4 ? "open" : "resolved" }));
      await store.withSourceLock("default", "203.0.113.1", (tx) => tx.saveIncidents(made.map((i) => ({ incident: i, created: true }))));
      await client.query("ANALYZE incidents");
      const indexes = (await client.query("SELECT indexname FROM pg_indexes WHERE tablename = 'incidents' ORDER BY indexname")).rows.map((r: { indexname: string }) => r.indexname);
      expect(indexes).toEqual(["incidents_by_created", "incidents_by_last_seen", "incidents_dedupe", "incidents_pkey"]);
      const after = { key: 4000, id: "80000000-0000-4000-8000-000000000000" };
      const plan = async (q: Omit<IncidentQuery, "limit" | "offset">) => {
        const { page, pageParams } = incidentListing("default", { ...q, limit: 51, offset: 0 }, (n) => `$${n}`);
        return (await client.query(`EXPLAIN ${page}`, pageParams)).rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
      };
      for (const [q, index] of [[{ after }, "incidents_by_last_seen"], [{ after, status: "open" }, "incidents_by_last_seen"],
        [{ after, sort: "createdAt", status: "open" }, "incidents_by_created"], [{}, "incidents_by_last_seen"]] as const) {
        const text = await plan(q);
        expect(text, JSON.stringify(q)).toMatch(new RegExp(`Index Scan Backward using ${index} on incidents [^\\n]*\\n\\s*Index Cond: \\(+tenant = 'default'`));
        expect(text, JSON.stringify(q)).not.toMatch(/Sort|Seq Scan/);
        if ("after" in q) expect(text, JSON.stringify(q)).toMatch(/Index Cond: .*ROW\((last_seen|created_at), id\) < ROW\(/);
      }
    } finally {
      await client.end();
      await store.close();
    }
  });
});

describe.skipIf(postgres.unavailable !== "")("PostgreSQL failed logins", () => {
  it("counts the failed logins of a database from before failure counts expired: a running lock stays, an old count starts afresh", async () => {
    const url = await postgres.freshDatabase("old_lockout");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE TABLE users (tenant TEXT NOT NULL, username TEXT NOT NULL, password_hash TEXT NOT NULL, role TEXT NOT NULL,
      failed_logins INTEGER NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, credentials_version INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant, username));
      INSERT INTO users VALUES ('default', 'locked', '$2b$12$old', 'viewer', 5, 901000, 1, 0), ('default', 'counted', '$2b$12$old', 'viewer', 3, 0, 1, 0);`);
    await client.end();
    const store = new PostgresRepository(url);
    await store.migrate();
    expect(await store.recordFailedLogin("default", "locked", 2000, 5, 900_000)).toEqual({ failedLogins: 6, lockedUntil: 901_000 });
    expect(await store.recordFailedLogin("default", "counted", 2000, 5, 900_000)).toEqual({ failedLogins: 1, lockedUntil: 0 });
    expect(await store.recordUnknownNameFailure("default", "digest", 2000, 1, 900_000)).toEqual({ failedLogins: 1, lockedUntil: 902_000 });
    await store.close();
  });

  it("keeps only the names that failed within the lock's duration, however many distinct names a flood sends from several replicas", async () => {
    const url = await postgres.freshDatabase("unknown_names");
    const replicas = [new PostgresRepository(url), new PostgresRepository(url)];
    await Promise.all(replicas.map((r) => r.migrate()));
    // 600 distinct names, one every 10 ms, alternating replicas, each count expiring 1 s after its failure: about 100 alive at a time.
    for (let i = 0; i < 600; i++) await replicas[i % 2]!.recordUnknownNameFailure("default", `digest-${i}`, 1000 + i * 10, 5, 1000);
    // A lock outlives the flood that went on meanwhile.
    expect(await replicas[0]!.recordUnknownNameFailure("default", "locked", 7000, 1, 60_000)).toEqual({ failedLogins: 1, lockedUntil: 67_000 });
    for (let i = 0; i < 300; i++) await replicas[i % 2]!.recordUnknownNameFailure("default", `later-${i}`, 7000 + i * 10, 5, 1000);
    expect(await replicas[1]!.unknownNameLockedUntil("default", "locked", 10_000)).toBe(67_000);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const rows = Number((await client.query("SELECT count(*) AS n FROM unknown_login_names")).rows[0].n);
    await client.end();
    expect(rows).toBeLessThanOrEqual(102);
    expect(rows).toBeGreaterThanOrEqual(100);
    await Promise.all(replicas.map((r) => r.close()));
  });
});

describe.skipIf(postgres.unavailable !== "")("PostgreSQL schema upgrade from one recorded Secret value", () => {
  it("keeps applied the value a database recorded in its first_admin table, so a deleted admin stays deleted", async () => {
    const url = await postgres.freshDatabase("first_admin");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE TABLE first_admin (id INTEGER PRIMARY KEY CHECK (id = 1), source TEXT NOT NULL, provisioned_at BIGINT NOT NULL);
      INSERT INTO first_admin VALUES (1, 'digest-of-the-secret', 5);`);
    const store = new PostgresRepository(url);
    await store.migrate();
    expect(await store.firstAdminSourceApplied("digest-of-the-secret")).toBe(true);
    expect(await store.findUser("default", "admin")).toBeUndefined();
    expect((await client.query("SELECT to_regclass('first_admin') AS t")).rows[0]).toEqual({ t: null });
    await store.migrate();
    await client.end();
    await store.close();
  });
});

describe.skipIf(postgres.unavailable !== "")("PostgreSQL connections", () => {
  it("survives the server ending a connection in the middle of a transaction: that transaction fails, the next works", async () => {
    const url = await postgres.freshDatabase("terminated");
    const store = new PostgresRepository(url);
    await store.migrate();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // A pass holding its transaction open while it computes, as detection passes do between queries.
      const pass = store.withSourceLock("default", "203.0.113.9", async (tx) => {
        await tx.eventsForSource("default", "203.0.113.9", 0, 1);
        for (;;) {
          const { rows } = await admin.query("SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'minixdr-detector' AND state = 'idle in transaction'");
          if (rows.length > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        // Give the client time to see its socket end (it emits 'error' on the client, which used to be unhandled).
        await new Promise((r) => setTimeout(r, 200));
        return tx.eventsForSource("default", "203.0.113.9", 0, 1);
      });
      const lostConnection: unknown = await pass.then(() => undefined, (e: unknown) => e);
      expect(lostConnection).toBeInstanceOf(Error);
      // Detection takes it for the store's failure, not the events' (nothing is counted towards skipping them).
      expect(store.isUnavailableError(lostConnection)).toBe(true);
      const refused: unknown = await store.withSourceLock("default", "203.0.113.9", (tx) => tx.insertIncident({ id: "not-a-uuid" } as never)).then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(Error);
      expect(store.isUnavailableError(refused)).toBe(false);
      // The broken connection was not pooled again: the store works.
      expect(await store.countEvents("default")).toBe(0);
      await store.ping();
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
