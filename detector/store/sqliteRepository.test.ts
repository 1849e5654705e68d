// The repository contract on a real SQLite file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import type { FileHandle } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { incidentListing } from "./incidentFilter.ts";
import type { IncidentQuery } from "./repository.ts";
import { incident, repositoryContract } from "./repositoryContract.ts";
import { eventColumns, eventValues } from "./rows.ts";
import { SqliteRepository } from "./sqliteRepository.ts";

const dir = mkdtempSync(join(tmpdir(), "minixdr-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

repositoryContract("SQLite", () => Promise.resolve(new SqliteRepository(join(dir, "nested", "minixdr.db"))));

describe("SQLite on a shared volume", () => {
  it("refuses a second detector process on the same file, naming the fix", async () => {
    const file = join(dir, "shared.db");
    const first = new SqliteRepository(file);
    await first.migrate();
    const second = spawnSync(process.execPath, ["--input-type=module", "-e", `
      import { SqliteRepository } from ${JSON.stringify(new URL("./sqliteRepository.ts", import.meta.url).href)};
      try { await new SqliteRepository(${JSON.stringify(file)}).migrate(); console.log("migrated"); } catch (err) { console.log(err.message); }
    `], { encoding: "utf8", timeout: 30_000 });
    expect(second.stdout).toMatch(/in use by another detector process: SQLite serves one replica; use storage.driver postgres/);
    await first.close();
  });
});

describe("SQLite detection passes", () => {
  const event = (id: string, time: number): SecurityEvent => ({
    tenant: "default", id, source: "cowrie", kind: "auth.failure", sourceType: "cowrie.login.failed", time, receivedAt: time, sourceIp: "203.0.113.9", actor: "",
  });
  const held = () => {
    let release!: () => void;
    return { gate: new Promise<void>((r) => (release = r)), release: () => release() };
  };

  it("reads and computes without holding up inserts, then commits its writes and the mark together", async () => {
    const store = new SqliteRepository(join(dir, "pass-reads-first.db"));
    await store.migrate();
    await store.insertEvents([event("e1", 1000), event("e2", 2000)]);
    const { gate, release } = held();
    const found = incident("default", { sourceIp: "203.0.113.9" });
    let readDone!: () => void;
    const read = new Promise<void>((r) => (readDone = r));
    const pass = store.detectQueued(100, async (claimed, tx) => {
      const [window] = await tx.eventsForSources([{ tenant: "default", sourceIp: "203.0.113.9", from: 0, to: 10_000 }]);
      readDone();
      await gate;
      await tx.insertIncident(found);
      return { claimed: claimed.map((e) => e.id), window: window!.map((e) => e.id) };
    });
    await read;
    // The pass is between its reads and its first write: an insert commits now, not after the pass.
    const stored = await Promise.race([store.insertEvents([event("e3", 3000)]), new Promise((r) => setTimeout(() => r("still waiting after 5 s"), 5000))]);
    expect(stored).toEqual({ inserted: 1 });
    expect(await store.getIncident("default", found.id)).toBeUndefined();
    release();
    expect((await pass)?.result).toEqual({ claimed: ["e1", "e2"], window: ["e1", "e2"] });
    expect(await store.getIncident("default", found.id)).toMatchObject({ id: found.id });
    // What was stored during the pass is the next pass's.
    expect(await store.countQueued()).toBe(1);
    expect((await store.detectQueued(100, (claimed) => Promise.resolve(claimed.map((e) => e.id))))?.result).toEqual(["e3"]);
    await store.close();
  });

  it("never prunes the newest row, so an event stored after a prune is still above the detection mark", async () => {
    const repo = new SqliteRepository(join(dir, "prune-newest.db"));
    await repo.migrate();
    await repo.insertEvents([event("a", 1000), event("b", 2000), event("c", 3000)]);
    while (await repo.detectQueued(100, () => Promise.resolve())) { /* all detected */ }
    // All three are old and detected; the newest row stays (rowids continue from the largest left).
    expect(await repo.pruneEvents(10_000, 100)).toBe(2);
    await repo.insertEvents([event("d", 4000)]);
    expect(await repo.countQueued()).toBe(1);
    expect((await repo.detectQueued(100, (events) => Promise.resolve(events.map((e) => e.id))))?.result).toEqual(["d"]);
    await repo.close();
  });

  it("keeps nothing a failed pass wrote, leaves its events queued and the store usable", async () => {
    const file = join(dir, "pass-fails.db");
    const store = new SqliteRepository(file);
    await store.migrate();
    await store.insertEvents([event("f1", 1000)]);
    const written = incident("default", { sourceIp: "203.0.113.9" });
    await expect(store.detectQueued(100, async (_claimed, tx) => {
      await tx.insertIncident(written);
      throw new Error("rule failed");
    })).rejects.toThrow("rule failed");
    expect(await store.getIncident("default", written.id)).toBeUndefined();
    expect(await store.countQueued()).toBe(1);
    expect(await store.insertEvents([event("f2", 2000)])).toEqual({ inserted: 1 });
    expect((await store.detectQueued(100, (claimed) => Promise.resolve(claimed.map((e) => e.id))))?.result).toEqual(["f1", "f2"]);
    await store.close();
    // The mark was committed: reopened, nothing is queued.
    const reopened = new SqliteRepository(file);
    await reopened.migrate();
    expect(await reopened.countQueued()).toBe(0);
    await reopened.close();
  });

  it("runs one pass at a time, so two passes never claim the same events", async () => {
    const store = new SqliteRepository(join(dir, "pass-serial.db"));
    await store.migrate();
    await store.insertEvents([event("s1", 1000), event("s2", 2000)]);
    const { gate, release } = held();
    const first = store.detectQueued(100, async (claimed) => { await gate; return claimed.map((e) => e.id); });
    const second = store.detectQueued(100, (claimed) => Promise.resolve(claimed.map((e) => e.id)));
    release();
    expect((await first)?.result).toEqual(["s1", "s2"]);
    expect(await second).toBeUndefined();
    await store.close();
  });
});

describe("SQLite detection passes under concurrent ingest", () => {
  it("claims every stored event exactly once across passes, while inserts, failing passes and status changes interleave", async () => {
    const file = join(dir, "interleaved.db");
    const store = new SqliteRepository(file);
    await store.migrate();
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const pause = () => new Promise((r) => setTimeout(r, Math.floor(next() * 4)));
    const stored: string[] = [];
    const detected: string[] = [];
    const incidents: string[] = [];
    let failedPasses = 0;
    let n = 0;
    const insert = async () => {
      const events = Array.from({ length: 1 + Math.floor(next() * 40) }, (): SecurityEvent => {
        const id = `c${n++}`;
        return { tenant: "default", id, source: "cowrie", kind: "auth.failure", sourceType: "cowrie.login.failed", time: 1000 + n, receivedAt: 0, sourceIp: `203.0.113.${n % 7}`, actor: "" };
      });
      await pause();
      const { inserted } = await store.insertEvents(events);
      expect(inserted).toBe(events.length);
      stored.push(...events.map((e) => e.id));
    };
    const pass = async () => {
      const fail = next() < 0.15;
      const result = await store.detectQueued(1 + Math.floor(next() * 60), async (claimed, tx) => {
        await tx.eventsForSources([{ tenant: "default", sourceIp: claimed[0]!.sourceIp, from: 0, to: 10_000_000 }]);
        await pause();
        const found = incident("default", { sourceIp: claimed[0]!.sourceIp });
        await tx.insertIncident(found);
        await tx.linkEvidence("default", found.id, claimed);
        if (fail) throw new Error("rule failed");
        incidents.push(found.id);
        return claimed.map((e) => e.id);
      }).catch((err: Error) => {
        expect(err.message).toBe("rule failed");
        failedPasses++;
        return undefined;
      });
      if (result) detected.push(...result.result);
    };
    const setStatus = async () => {
      const id = incidents[Math.floor(next() * incidents.length)];
      if (id) await store.setIncidentStatus("default", id, "acknowledged", "analyst", 1);
    };
    for (let round = 0; round < 40; round++) await Promise.all([insert(), insert(), pass(), pass(), setStatus(), insert()]);
    while ((await store.detectQueued(1000, (claimed) => Promise.resolve(claimed.map((e) => e.id)).then((ids) => (detected.push(...ids), ids)))) !== undefined) { /* drain */ }
    expect(failedPasses).toBeGreaterThan(0);
    // Every stored event was taken off the queue by exactly one successful pass.
    expect(new Set(detected).size).toBe(detected.length);
    expect([...detected].sort()).toEqual([...stored].sort());
    // A failed pass kept nothing: only the successful passes' incidents exist.
    expect((await store.listIncidents("default", { limit: 1000, offset: 0 })).total).toBe(incidents.length);
    await store.close();
    const reopened = new SqliteRepository(file);
    await reopened.migrate();
    expect(await reopened.countQueued()).toBe(0);
    expect(await reopened.countEvents("default")).toBe(stored.length);
    await reopened.close();
  });
});

describe("SQLite durability", () => {
  const event = (id: string): SecurityEvent => ({
    tenant: "default", id, source: "cowrie", kind: "auth.failure", sourceType: "cowrie.login.failed", time: 1000, receivedAt: 1000, sourceIp: "203.0.113.9", actor: "",
  });
  /** A store whose WAL syncs wait for the test (or fail), counting them. */
  class HeldSyncs extends SqliteRepository {
    syncs = 0;
    hold = false;
    fail: Error | undefined;
    private readonly waiting: (() => void)[] = [];
    protected override syncWal(wal: FileHandle): Promise<void> {
      this.syncs++;
      if (this.fail) return Promise.reject(this.fail);
      if (!this.hold) return super.syncWal(wal);
      return new Promise<void>((r) => this.waiting.push(r)).then(() => super.syncWal(wal));
    }

    /** Lets the oldest held sync run. */
    releaseOne(): void {
      this.waiting.shift()?.();
    }
  }
  const settled = (p: Promise<unknown>) => Promise.race([p.then(() => "resolved"), new Promise((r) => setTimeout(() => r("waiting"), 200))]);

  it("resolves a write only once the WAL holding its commit is synced, one sync serving the writes made while another ran", async () => {
    const store = new HeldSyncs(join(dir, "durable.db"));
    await store.migrate();
    store.hold = true;
    store.syncs = 0;
    const first = store.insertEvents([event("d1")]);
    await expect.poll(() => store.syncs).toBe(1);
    // Committed while the first sync runs: they wait for the next one, which starts after their commits.
    const second = store.insertEvents([event("d2")]);
    const third = store.insertEvents([event("d3")]);
    expect(await settled(first)).toBe("waiting");
    store.releaseOne();
    expect(await first).toEqual({ inserted: 1 });
    await expect.poll(() => store.syncs).toBe(2);
    expect(await settled(Promise.all([second, third]))).toBe("waiting");
    store.releaseOne();
    expect(await Promise.all([second, third])).toEqual([{ inserted: 1 }, { inserted: 1 }]);
    expect(store.syncs).toBe(2);
    store.hold = false;
    await store.close();
  });

  it("tells failures of its volume (full, failing, a sync that failed) from failures of the work, so detection does not blame events for them", async () => {
    const store = new HeldSyncs(join(dir, "volume.db"));
    await store.migrate();
    const caught = (f: () => unknown): unknown => {
      try {
        f();
      } catch (err) {
        return err;
      }
      throw new Error("did not fail");
    };
    // SQLite's own error when a write needs a page the database may not have.
    const small = new DatabaseSync(":memory:");
    small.exec("PRAGMA max_page_count = 3; CREATE TABLE t (x BLOB)");
    const full = caught(() => {
      for (let i = 0; i < 100; i++) small.prepare("INSERT INTO t VALUES (randomblob(4000))").run();
    });
    expect(full).toMatchObject({ message: expect.stringMatching(/full/) as string });
    expect(store.isUnavailableError(full)).toBe(true);
    // A write whose WAL sync failed, as the file system reports it.
    store.fail = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO", syscall: "fdatasync" });
    const syncFailed = await store.insertEvents([event("v1")]).then(() => undefined, (err: unknown) => err);
    store.fail = undefined;
    expect(store.isUnavailableError(syncFailed)).toBe(true);
    // The work's own: a constraint the statement broke, a rule that threw.
    const other = new DatabaseSync(":memory:");
    other.exec("CREATE TABLE u (x UNIQUE); INSERT INTO u VALUES (1)");
    expect(store.isUnavailableError(caught(() => other.exec("INSERT INTO u VALUES (1)")))).toBe(false);
    expect(store.isUnavailableError(new Error("rule crashed"))).toBe(false);
    await store.close();
  });

  it("fails a write whose sync fails, naming the file", async () => {
    const store = new HeldSyncs(join(dir, "sync-fails.db"));
    await store.migrate();
    store.fail = new Error("EIO: i/o error, fdatasync");
    await expect(store.insertEvents([event("x1")])).rejects.toThrow(/commit not made durable: syncing .*sync-fails\.db-wal failed: EIO/);
    store.fail = undefined;
    // The store still works, and the retried batch is stored once.
    expect(await store.insertEvents([event("x1")])).toEqual({ inserted: 0 });
    expect(await store.countEvents("default")).toBe(1);
    await store.close();
  });
});

describe("SQLite files written by earlier versions", () => {
  const event = (id: string, time: number): SecurityEvent => ({
    tenant: "default", id, source: "cowrie", kind: "auth.failure", sourceType: "cowrie.login.failed", time, receivedAt: time, sourceIp: "203.0.113.9", actor: "",
  });
  /** A file as the previous version left it: events indexed by source, and a detection_queue table naming `queued`. */
  function oldFile(name: string, events: SecurityEvent[], queued: string[] | undefined): string {
    const file = join(dir, name);
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE events (tenant TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, event_time INTEGER NOT NULL,
      received_at INTEGER NOT NULL, source_ip TEXT NOT NULL, actor TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, id));
      CREATE INDEX events_by_source ON events (tenant, source_ip, event_time);`);
    const insert = db.prepare(`INSERT INTO events (${eventColumns.join(", ")}) VALUES (${eventColumns.map(() => "?").join(", ")})`);
    for (const e of events) insert.run(...eventValues(e));
    if (queued) {
      db.exec("CREATE TABLE detection_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, event_id TEXT NOT NULL)");
      for (const id of queued) db.prepare("INSERT INTO detection_queue (tenant, event_id) VALUES ('default', ?)").run(id);
    }
    db.close();
    return file;
  }
  const schemaObjects = (file: string) => {
    const db = new DatabaseSync(file);
    const names = db.prepare("SELECT name FROM sqlite_master ORDER BY name").all().map((r) => String(r.name));
    db.close();
    return names;
  };

  it("rebuilds a time index from before it held source_ip", async () => {
    const file = oldFile("two-column-index.db", [event("i1", 1000)], undefined);
    const db = new DatabaseSync(file);
    db.exec("CREATE INDEX events_by_time ON events (tenant, event_time)");
    db.close();
    const store = new SqliteRepository(file);
    await store.migrate();
    await store.close();
    const check = new DatabaseSync(file);
    expect(check.prepare("PRAGMA index_info(events_by_time)").all().map((c) => c.name)).toEqual(["tenant", "event_time", "source_ip"]);
    check.close();
  });

  it("keeps applied the Secret value a file recorded in its first_admin table, so a deleted admin stays deleted", async () => {
    const file = join(dir, "first-admin.db");
    const fresh = new SqliteRepository(file);
    await fresh.migrate();
    await fresh.close();
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE first_admin (id INTEGER PRIMARY KEY CHECK (id = 1), source TEXT NOT NULL, provisioned_at INTEGER NOT NULL); INSERT INTO first_admin VALUES (1, 'digest-of-the-secret', 5)");
    db.close();
    const store = new SqliteRepository(file);
    await store.migrate();
    expect(await store.firstAdminSourceApplied("digest-of-the-secret")).toBe(true);
    expect(await store.provisionFirstAdmin({ tenant: "default", username: "admin", passwordHash: "$2b$12$x", role: "admin", failedLogins: 0, lockedUntil: 0, createdAt: 6 }, "digest-of-the-secret")).toBe("unchanged");
    expect(await store.findUser("default", "admin")).toBeUndefined();
    await store.close();
    expect(schemaObjects(file)).not.toContain("first_admin");
  });

  it("still detects what was queued and not detected, and drops the old queue table and index", async () => {
    const events = [event("e1", 1000), event("e2", 2000), event("e3", 3000), event("e4", 4000)];
    const file = oldFile("queued.db", events, ["e3", "e4"]);
    const store = new SqliteRepository(file);
    await store.migrate();
    expect(await store.countQueued()).toBe(2);
    expect(await store.anyQueued([{ tenant: "default", id: "e1" }])).toBe(false);
    expect(await store.anyQueued([{ tenant: "default", id: "e4" }])).toBe(true);
    const pass = await store.detectQueued(100, (claimed) => Promise.resolve(claimed.map((e) => e.id)));
    expect(pass?.result).toEqual(["e3", "e4"]);
    expect(await store.countQueued()).toBe(0);
    // Windows come from the store by time now.
    await store.insertEvents([event("e5", 5000)]);
    const windows = await store.withSourceLocks([], (tx) => tx.eventsForSources([{ tenant: "default", sourceIp: "203.0.113.9", from: 1500, to: 4500 }]));
    expect(windows[0]!.map((e) => e.id)).toEqual(["e2", "e3", "e4"]);
    await store.close();
    const names = schemaObjects(file);
    expect(names).not.toContain("detection_queue");
    expect(names).not.toContain("events_by_source");
    expect(names).toContain("events_by_time");
  });

  it("gives the users of a file from before password changes credentials version 0, keeping their passwords", async () => {
    const file = join(dir, "old-users.db");
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE users (tenant TEXT NOT NULL, username TEXT NOT NULL, password_hash TEXT NOT NULL, role TEXT NOT NULL,
      failed_logins INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, PRIMARY KEY (tenant, username));
      INSERT INTO users VALUES ('default', 'admin', '$2b$12$old', 'admin', 0, 0, 1);`);
    db.close();
    const store = new SqliteRepository(file);
    await store.migrate();
    expect(await store.findUser("default", "admin")).toMatchObject({ passwordHash: "$2b$12$old", credentialsVersion: 0, role: "admin" });
    expect((await store.setPassword("default", "admin", "$2b$12$new"))?.credentialsVersion).toBe(1);
    await store.close();
    // Opening it again changes nothing more; provisioning from the Secret keeps the admin it finds, whose password
    // may have been changed since (nothing recorded which Secret value it came from).
    const again = new SqliteRepository(file);
    await again.migrate();
    expect(await again.findUser("default", "admin")).toMatchObject({ passwordHash: "$2b$12$new", credentialsVersion: 1 });
    const admin = { tenant: "default", username: "admin", passwordHash: "$2b$12$from-secret", role: "admin" as const, failedLogins: 0, lockedUntil: 0, createdAt: 2 };
    expect(await again.provisionFirstAdmin(admin, "secret-a")).toBe("kept");
    expect((await again.findUser("default", "admin"))?.passwordHash).toBe("$2b$12$new");
    await again.close();
  });

  it("counts the failed logins of a file from before failure counts expired: a running lock stays, an old count starts afresh", async () => {
    const file = join(dir, "old-lockout.db");
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE users (tenant TEXT NOT NULL, username TEXT NOT NULL, password_hash TEXT NOT NULL, role TEXT NOT NULL,
      failed_logins INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, credentials_version INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant, username));
      INSERT INTO users VALUES ('default', 'locked', '$2b$12$old', 'viewer', 5, 901000, 1, 0), ('default', 'counted', '$2b$12$old', 'viewer', 3, 0, 1, 0);`);
    db.close();
    const store = new SqliteRepository(file);
    await store.migrate();
    expect(await store.recordFailedLogin("default", "locked", 2000, 5, 900_000)).toEqual({ failedLogins: 6, lockedUntil: 901_000 });
    expect(await store.recordFailedLogin("default", "counted", 2000, 5, 900_000)).toEqual({ failedLogins: 1, lockedUntil: 0 });
    expect(await store.recordUnknownNameFailure("default", "digest", 2000, 1, 900_000)).toEqual({ failedLogins: 1, lockedUntil: 902_000 });
    await store.close();
  });

  it("treats every event of a file from before the queue existed as detected (they were detected when stored)", async () => {
    const store = new SqliteRepository(oldFile("prequeue.db", [event("e1", 1000), event("e2", 2000)], undefined));
    await store.migrate();
    expect(await store.countQueued()).toBe(0);
    await store.insertEvents([event("e3", 3000)]);
    expect((await store.detectQueued(100, (claimed) => Promise.resolve(claimed.map((e) => e.id))))?.result).toEqual(["e3"]);
    await store.close();
  });
});

describe("SQLite incident list pages", () => {
  it("reads a page after a cursor's position as a range of an index, newest first, never sorting the tenant's incidents; a file from before gets the indexes", async () => {
    // A file from before keyset paging: incidents indexed by (tenant, last_seen DESC) only.
    const file = join(dir, "keyset-plan.db");
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE incidents (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, source_ip TEXT NOT NULL, actor TEXT NOT NULL, detection_key TEXT NOT NULL,
      techniques TEXT NOT NULL, severity TEXT NOT NULL, risk_score INTEGER NOT NULL, status TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
      summary TEXT NOT NULL, evidence TEXT NOT NULL, detected_by TEXT NOT NULL, recommended_action TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      status_changed_by TEXT); CREATE INDEX incidents_by_tenant ON incidents (tenant, last_seen DESC);`);
    old.close();
    const store = new SqliteRepository(file);
    await store.migrate();
    for (let n = 0; n < 300; n++) {
      const i = incident(n % 3 ? "default" : "other", { lastSeen: 1000 + n, createdAt: 5000 - n, status: n % 4 ? "open" : "resolved" });
      await store.withSourceLock(i.tenant, i.sourceIp, (tx) => tx.insertIncident(i));
    }
    await store.close();

    const db = new DatabaseSync(file);
    db.exec("ANALYZE");
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents' AND sql IS NOT NULL ORDER BY name").all().map((r) => r.name);
    expect(indexes).toEqual(["incidents_by_created", "incidents_by_last_seen", "incidents_dedupe"]);
    const after = { key: 1150, id: "80000000-0000-4000-8000-000000000000" };
    const plan = (q: Omit<IncidentQuery, "limit" | "offset">) => {
      const { page, pageParams } = incidentListing("default", { ...q, limit: 51, offset: 0 }, () => "?");
      return db.prepare(`EXPLAIN QUERY PLAN ${page}`).all(...pageParams).map((r) => String(r.detail));
    };
    expect(plan({ after })).toEqual(["SEARCH incidents USING INDEX incidents_by_last_seen (tenant=? AND (last_seen,id)<(?,?))"]);
    expect(plan({ after, status: "open", severity: "high" })).toEqual(["SEARCH incidents USING INDEX incidents_by_last_seen (tenant=? AND (last_seen,id)<(?,?))"]);
    expect(plan({ after, since: 1100 })).toEqual(["SEARCH incidents USING INDEX incidents_by_last_seen (tenant=? AND last_seen>? AND (last_seen,id)<(?,?))"]);
    expect(plan({ after, sort: "createdAt", status: "open" })).toEqual(["SEARCH incidents USING INDEX incidents_by_created (tenant=? AND (created_at,id)<(?,?))"]);
    expect(plan({})).toEqual(["SEARCH incidents USING INDEX incidents_by_last_seen (tenant=?)"]);
    db.close();
  });
});

describe("SQLite failed logins of names that are no account", () => {
  it("keeps only the names that failed within the lock's duration, however many distinct names a flood sends", async () => {
    const file = join(dir, "unknown-names.db");
    const store = new SqliteRepository(file);
    await store.migrate();
    // 600 distinct names, one every 10 ms, each count expiring 1 s after its failure: about 100 alive at a time.
    for (let i = 0; i < 600; i++) await store.recordUnknownNameFailure("default", `digest-${i}`, 1000 + i * 10, 5, 1000);
    // A lock outlives the flood that went on meanwhile.
    expect(await store.recordUnknownNameFailure("default", "locked", 7000, 1, 60_000)).toEqual({ failedLogins: 1, lockedUntil: 67_000 });
    for (let i = 0; i < 300; i++) await store.recordUnknownNameFailure("default", `later-${i}`, 7000 + i * 10, 5, 1000);
    expect(await store.unknownNameLockedUntil("default", "locked", 10_000)).toBe(67_000);
    await store.close();
    const db = new DatabaseSync(file);
    const rows = Number(db.prepare("SELECT count(*) AS n FROM unknown_login_names").get()?.n);
    db.close();
    expect(rows).toBeLessThanOrEqual(102);
    expect(rows).toBeGreaterThanOrEqual(100);
  });
});
