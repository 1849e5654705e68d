// The behaviour every Repository backend must have; sqliteRepository.test.ts and postgresRepository.test.ts run it on real databases.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecurityEvent } from "../events/securityEvent.ts";
import type { Incident } from "../incidents/incident.ts";
import type { NewUser } from "../auth/user.ts";
import type { DetectionTransaction, Repository } from "./repository.ts";

/** Opens a repository on the suite's database; called again to reopen it after a close. */
export type OpenRepository = () => Promise<Repository>;

/** A stored Cowrie failed login of `tenant`. */
export const event = (tenant: string, id: string, time: number, sourceIp = "203.0.113.1", kind: SecurityEvent["kind"] = "auth.failure"): SecurityEvent => ({
  tenant, id, source: "cowrie", kind, sourceType: "cowrie.login.failed", time, receivedAt: 1_700_000_000_000, sourceIp, actor: "", username: "root", password: "x",
});

/** An open brute-force incident of `tenant`, with any fields replaced. */
export const incident = (tenant: string, over: Partial<Incident> = {}): Incident => ({
  id: randomUUID(), tenant, sourceIp: "203.0.113.1", actor: "", detectionKey: "T1110.001",
  techniques: [{ id: "T1110.001", name: "Brute Force: Password Guessing", tactic: "Credential Access" }],
  severity: "medium", riskScore: 50, status: "open", firstSeen: 1000, lastSeen: 5000, summary: "s",
  evidence: { counts: {}, total: 0 }, detectedBy: { rules: ["ssh-brute-force"] }, recommendedAction: null,
  createdAt: 1, updatedAt: 1, statusChangedBy: null, ...over,
});

const user = (tenant: string, username: string): NewUser => ({
  tenant, username, passwordHash: "$2b$12$abcdefghijklmnopqrstuuQ0Qe0pGQq1CZQF3l5l6s7p8m9n0o1p2", role: "analyst", failedLogins: 0, lockedUntil: 0, createdAt: 1,
});

export function repositoryContract(backend: string, open: OpenRepository, skip?: string): void {
  describe.skipIf(skip !== undefined)(`${backend} repository`, () => {
    let repo: Repository;
    beforeAll(async () => {
      repo = await open();
      await repo.migrate();
      await repo.migrate(); // a second replica starting up runs it again
    });
    afterAll(async () => repo?.close());

    it("stores an event once per tenant and id, so a retried batch is not counted twice", async () => {
      const e = event("t-events", "cowrie:a", 1000);
      expect(await repo.insertEvents([e, event("t-events", "cowrie:b", 2000)])).toEqual({ inserted: 2 });
      expect(await repo.insertEvents([e])).toEqual({ inserted: 0 });
      expect(await repo.insertEvents([{ ...e, tenant: "t-events-2" }])).toEqual({ inserted: 1 });
      expect(await repo.countEvents("t-events")).toBe(2);
    });

    it("returns a source's events in an event-time range, oldest first, for its tenant only", async () => {
      await repo.insertEvents([event("t-range", "e3", 3000), event("t-range", "e1", 1000), event("t-range", "e2", 2000),
        event("t-range", "other-ip", 2000, "198.51.100.1"), event("t-range-other", "e9", 2000), event("t-range", "late", 9000)]);
      const got = await repo.withSourceLock("t-range", "203.0.113.1", (tx) => tx.eventsForSource("t-range", "203.0.113.1", 1000, 3000));
      expect(got.map((e) => e.id)).toEqual(["e1", "e2", "e3"]);
      expect(got[0]).toMatchObject({ kind: "auth.failure", username: "root", sourceIp: "203.0.113.1", time: 1000 });
      // Several sources' windows in one pass under their locks: one list per window, in the windows' order.
      await repo.insertEvents([event("t-windows", "a2", 2000), event("t-windows", "a1", 1000), event("t-windows", "b1", 1500, "198.51.100.2"),
        event("t-windows", "a-late", 9000), event("t-windows-other", "x1", 1500, "198.51.100.2")]);
      const sources = [{ tenant: "t-windows", sourceIp: "198.51.100.2" }, { tenant: "t-windows", sourceIp: "203.0.113.1" }, { tenant: "t-windows", sourceIp: "192.0.2.99" }];
      const before = repo.windowEventsRead();
      const windows = await repo.withSourceLocks(sources, (tx) => tx.eventsForSources(sources.map((s) => ({ ...s, from: 1000, to: 3000 }))));
      expect(windows.map((events) => events.map((e) => e.id))).toEqual([["b1"], ["a1", "a2"], []]);
      // Where the windows' events came from (minixdr_detection_window_events_total): PostgreSQL reads every window;
      // SQLite reads the tenant's events from the windows' start into its cache once (a-late too), then serves from it.
      const after = repo.windowEventsRead();
      expect({ memory: after.memory - before.memory, store: after.store - before.store })
        .toEqual(repo.driver === "postgres" ? { memory: 0, store: 3 } : { memory: 3, store: 4 });
      expect(windows[1]![0]).toMatchObject({ kind: "auth.failure", username: "root", sourceIp: "203.0.113.1", time: 1000 });
    });

    it("links evidence idempotently and serves it with the incident", async () => {
      const i = incident("t-evidence");
      const refs = [{ id: "e1", kind: "auth.failure" as const, time: 1000, source: "cowrie" as const }, { id: "e2", kind: "auth.success" as const, time: 2000, source: "cowrie" as const }];
      const evidence = await repo.withSourceLock("t-evidence", i.sourceIp, async (tx) => {
        await tx.insertIncident(i);
        await tx.linkEvidence("t-evidence", i.id, refs);
        return tx.linkEvidence("t-evidence", i.id, refs);
      });
      expect(evidence).toEqual({ counts: { "auth.failure": 1, "auth.success": 1 }, total: 2 });
      const got = await repo.getIncident("t-evidence", i.id);
      expect(got?.evidence).toEqual(evidence);
      expect(got?.events.map((e) => e.id)).toEqual(["e1", "e2"]);
      expect(got?.techniques).toEqual(i.techniques);
    });

    it("keeps a source's windows complete as events arrive out of order between passes", async () => {
      const ids = async (from: number, to: number) => (await repo.withSourceLock("t-moving", "203.0.113.1", (tx) => tx.eventsForSource("t-moving", "203.0.113.1", from, to))).map((e) => e.id);
      await repo.insertEvents([event("t-moving", "m5", 5000), event("t-moving", "m6", 6000)]);
      expect(await ids(4000, 9000)).toEqual(["m5", "m6"]);
      // Late arrivals: one inside the window just read, one before it, one after it, and a tie broken by id.
      await repo.insertEvents([event("t-moving", "m4b", 4500), event("t-moving", "m1", 1000), event("t-moving", "m8", 8000), event("t-moving", "m4a", 4500)]);
      expect(await ids(4000, 9000)).toEqual(["m4a", "m4b", "m5", "m6", "m8"]);
      expect(await ids(5000, 7000)).toEqual(["m5", "m6"]);
      // A window reaching further back than any read before it still sees the early event.
      expect(await ids(0, 9000)).toEqual(["m1", "m4a", "m4b", "m5", "m6", "m8"]);
      await repo.insertEvents([event("t-moving", "m7", 7000), event("t-moving", "m5", 5000)]);
      expect(await ids(0, 9000)).toEqual(["m1", "m4a", "m4b", "m5", "m6", "m7", "m8"]);
    });

    it("counts evidence across passes and forgets links a failed pass rolled back", async () => {
      const i = incident("t-evidence-passes");
      const ref = (id: string, kind: "auth.failure" | "command" = "auth.failure") => ({ id, kind, time: 1000, source: "cowrie" as const });
      const pass = <T>(fn: (tx: DetectionTransaction) => Promise<T>) => repo.withSourceLock("t-evidence-passes", i.sourceIp, fn);
      await pass(async (tx) => {
        await tx.insertIncident(i);
        await tx.linkEvidence("t-evidence-passes", i.id, [ref("p1"), ref("p2")]);
      });
      await expect(pass(async (tx) => {
        await tx.linkEvidence("t-evidence-passes", i.id, [ref("p3"), ref("p4", "command")]);
        throw new Error("detection failed");
      })).rejects.toThrow("detection failed");
      const evidence = await pass((tx) => tx.linkEvidence("t-evidence-passes", i.id, [ref("p1"), ref("p3"), ref("p4", "command")]));
      expect(evidence).toEqual({ counts: { "auth.failure": 3, command: 1 }, total: 4 });
      // A pass whose evidence is all linked already gets the same summary back.
      expect(await pass((tx) => tx.linkEvidence("t-evidence-passes", i.id, [ref("p2"), ref("p4", "command"), ref("p1")]))).toEqual(evidence);
      const got = await repo.getIncident("t-evidence-passes", i.id);
      expect(got?.evidence).toEqual(evidence);
      expect(got?.events.map((e) => e.id)).toEqual(["p1", "p2", "p3", "p4"]);
    });

    it("records a chunk's detections in batches: merge candidates, saves and evidence, as the single forms do", async () => {
      const tenant = "t-batch";
      const open = incident(tenant, { sourceIp: "198.51.100.1", firstSeen: 10_000, lastSeen: 20_000 });
      const resolved = incident(tenant, { sourceIp: "198.51.100.2", firstSeen: 10_000, lastSeen: 20_000, status: "resolved" });
      await repo.withSourceLock(tenant, "x", async (tx) => {
        await tx.insertIncident(open);
        await tx.insertIncident(resolved);
      });
      const q = (sourceIp: string, from: number, to: number) => ({ tenant, sourceIp, actor: "", detectionKey: "T1110.001", from, to });
      const ref = (id: string, kind: "auth.failure" | "command" = "auth.failure") => ({ id, kind, time: 1000, source: "cowrie" as const });
      const fresh = incident(tenant, { sourceIp: "198.51.100.3" });
      await repo.withSourceLock(tenant, "x", async (tx) => {
        // In order: an overlapping open incident, a resolved one (never merged), no overlap, no incident at all.
        const found = await tx.findMergeableIncidents([q("198.51.100.1", 15_000, 30_000), q("198.51.100.2", 15_000, 30_000), q("198.51.100.1", 25_000, 30_000), q("198.51.100.3", 0, 1)]);
        expect(found.map((i) => i?.id)).toEqual([open.id, undefined, undefined, undefined]);
        expect(found[0]).toEqual(open);
        expect(await tx.findMergeableIncidents([])).toEqual([]);
        await tx.saveIncidents([{ incident: { ...open, lastSeen: 40_000, riskScore: 80 }, created: false }, { incident: fresh, created: true }]);
        expect(await tx.linkEvidenceTo([{ tenant, incidentId: open.id, events: [ref("b1"), ref("b2"), ref("b1")] }, { tenant, incidentId: fresh.id, events: [ref("b3", "command")] }]))
          .toEqual([{ counts: { "auth.failure": 2 }, total: 2 }, { counts: { command: 1 }, total: 1 }]);
      });
      // A later pass: what is linked already counts once, and an incident with nothing new gets its stored summary.
      const evidence = await repo.withSourceLock(tenant, "x", (tx) => tx.linkEvidenceTo([
        { tenant, incidentId: open.id, events: [ref("b1"), ref("b4")] }, { tenant, incidentId: fresh.id, events: [ref("b3", "command")] },
      ]));
      expect(evidence).toEqual([{ counts: { "auth.failure": 3 }, total: 3 }, { counts: { command: 1 }, total: 1 }]);
      expect(await repo.getIncident(tenant, open.id)).toMatchObject({ lastSeen: 40_000, riskScore: 80, evidence: evidence[0] });
      expect((await repo.getIncident(tenant, fresh.id))?.events.map((e) => e.id)).toEqual(["b3"]);
      expect(await repo.getIncident(tenant, resolved.id)).toMatchObject({ status: "resolved", lastSeen: 20_000 });
    });

    it("finds an unresolved incident to merge only when it overlaps the window", async () => {
      const open = incident("t-merge", { firstSeen: 10_000, lastSeen: 20_000 });
      const resolved = incident("t-merge", { firstSeen: 10_000, lastSeen: 20_000, status: "resolved", detectionKey: "T1046" });
      await repo.withSourceLock("t-merge", open.sourceIp, async (tx) => {
        await tx.insertIncident(open);
        await tx.insertIncident(resolved);
      });
      const q = { tenant: "t-merge", sourceIp: open.sourceIp, actor: "", detectionKey: "T1110.001" };
      await repo.withSourceLock("t-merge", open.sourceIp, async (tx) => {
        expect((await tx.findMergeableIncident({ ...q, from: 15_000, to: 30_000 }))?.id).toBe(open.id);
        expect(await tx.findMergeableIncident({ ...q, from: 25_000, to: 30_000 })).toBeUndefined();
        expect(await tx.findMergeableIncident({ ...q, actor: "mallory", from: 15_000, to: 30_000 })).toBeUndefined();
        expect(await tx.findMergeableIncident({ ...q, detectionKey: "T1046", from: 15_000, to: 30_000 })).toBeUndefined();
        await tx.updateIncident({ ...open, lastSeen: 40_000, riskScore: 70, severity: "high", detectedBy: { rules: ["a", "b"], model: { version: "v1", score: 0.5 } } });
      });
      expect(await repo.getIncident("t-merge", open.id)).toMatchObject({ lastSeen: 40_000, riskScore: 70, severity: "high", detectedBy: { rules: ["a", "b"], model: { version: "v1", score: 0.5 } } });
    });

    it("finds a resolved incident for a detection only when no unresolved one overlaps and its span holds every trigger", async () => {
      const tenant = "t-resolved";
      const resolved = incident(tenant, { sourceIp: "198.51.100.1", firstSeen: 10_000, lastSeen: 20_000, status: "resolved", statusChangedBy: "anna" });
      const older = incident(tenant, { sourceIp: "198.51.100.1", firstSeen: 5_000, lastSeen: 18_000, status: "resolved" });
      // On .2 a newer resolved incident and an older open one both hold the window: the open one is merged into.
      const open2 = incident(tenant, { sourceIp: "198.51.100.2", firstSeen: 10_000, lastSeen: 20_000 });
      const resolved2 = incident(tenant, { sourceIp: "198.51.100.2", firstSeen: 10_000, lastSeen: 40_000, status: "resolved" });
      await repo.withSourceLock(tenant, "x", async (tx) => { for (const i of [resolved, older, open2, resolved2]) await tx.insertIncident(i); });
      const q = (sourceIp: string, triggers?: { from: number; to: number }, over: { actor?: string; detectionKey?: string } = {}) =>
        ({ tenant, sourceIp, actor: "", detectionKey: "T1110.001", from: 0, to: 80_000, ...(triggers ? { triggers } : {}), ...over });
      await repo.withSourceLock(tenant, "x", async (tx) => {
        const found = await tx.findMergeableIncidents([
          q("198.51.100.1", { from: 12_000, to: 13_500 }), // inside both resolved spans: the newest
          q("198.51.100.1", { from: 10_000, to: 20_000 }), // the span's very ends
          q("198.51.100.1", { from: 6_000, to: 12_000 }), // inside the older one only
          q("198.51.100.1", { from: 12_000, to: 21_000 }), // a trigger after every resolved span: new activity
          q("198.51.100.1", { from: 4_000, to: 12_000 }), // a trigger before
          q("198.51.100.1"), // no triggers given: resolved incidents are never returned
          q("198.51.100.1", { from: 12_000, to: 13_000 }, { actor: "mallory" }),
          q("198.51.100.1", { from: 12_000, to: 13_000 }, { detectionKey: "T1046" }),
          q("198.51.100.2", { from: 12_000, to: 13_000 }),
          q("198.51.100.3", { from: 12_000, to: 13_000 }),
        ]);
        expect(found.map((i) => i?.id)).toEqual([resolved.id, resolved.id, older.id, undefined, undefined, undefined, undefined, undefined, open2.id, undefined]);
        expect(found[0]).toEqual(resolved);
        expect(await tx.findMergeableIncident(q("198.51.100.1", { from: 15_000, to: 15_000 }))).toEqual(resolved);
        expect(await tx.findMergeableIncident(q("198.51.100.1", { from: 15_000, to: 25_000 }))).toBeUndefined();
      });
    });

    it("holds a resolved incident a late record is linked to until the pass ends, so a reopen waits for the link", async () => {
      const held = incident("t-hold-resolved", { firstSeen: 1000, lastSeen: 8000, status: "resolved", statusChangedBy: "anna" });
      await repo.withSourceLock("t-hold-resolved", held.sourceIp, (tx) => tx.insertIncident(held));
      let reopenedAt = Number.NaN;
      let linkedAt = Number.NaN;
      let reopening: Promise<unknown> = Promise.resolve();
      await repo.withSourceLock("t-hold-resolved", held.sourceIp, async (tx) => {
        const [found] = await tx.findMergeableIncidents([{ tenant: "t-hold-resolved", sourceIp: held.sourceIp, actor: "", detectionKey: "T1110.001", from: 0, to: 70_000,
          triggers: { from: 4500, to: 4500 } }]);
        expect(found).toMatchObject({ id: held.id, status: "resolved" });
        reopening = repo.setIncidentStatus("t-hold-resolved", held.id, "open", "bob", 9).then(() => (reopenedAt = performance.now()));
        await new Promise((r) => setTimeout(r, 300));
        await tx.linkEvidenceTo([{ tenant: "t-hold-resolved", incidentId: held.id, events: [event("t-hold-resolved", "late-1", 4500)] }]);
        linkedAt = performance.now();
      });
      await reopening;
      expect(reopenedAt).toBeGreaterThan(linkedAt);
      expect(await repo.getIncident("t-hold-resolved", held.id)).toMatchObject({ status: "open", statusChangedBy: "bob", lastSeen: 8000, evidence: { total: 1 } });
    });

    it("lists with filters and pagination, newest activity first, and never across tenants", async () => {
      const tenant = "t-list";
      const made = Array.from({ length: 5 }, (_, n) => incident(tenant, { lastSeen: 1000 * (n + 1), severity: n % 2 ? "high" : "low", sourceIp: n === 4 ? "198.51.100.9" : "203.0.113.1" }));
      await repo.withSourceLock(tenant, "x", async (tx) => { for (const i of [...made, incident("t-list-other")]) await tx.insertIncident(i); });
      const page1 = await repo.listIncidents(tenant, { limit: 2, offset: 0 });
      const page2 = await repo.listIncidents(tenant, { limit: 2, offset: 2 });
      expect(page1.total).toBe(5);
      expect([...page1.items, ...page2.items].map((i) => i.lastSeen)).toEqual([5000, 4000, 3000, 2000]);
      expect((await repo.listIncidents(tenant, { limit: 10, offset: 0, severity: "high" })).items.map((i) => i.lastSeen)).toEqual([4000, 2000]);
      expect((await repo.listIncidents(tenant, { limit: 10, offset: 0, sourceIp: "198.51.100.9" })).total).toBe(1);
      expect((await repo.listIncidents(tenant, { limit: 10, offset: 0, since: 3500 })).total).toBe(2);
      expect((await repo.listIncidents(tenant, { limit: 10, offset: 0, technique: "T1046" })).total).toBe(0);
      expect(await repo.getIncident("t-list-other", made[0]!.id)).toBeUndefined();
    });

    it("pages from a position (keyset): while incidents are created and changed between pages, every incident there at the start is listed once, in order", async () => {
      const tenant = "t-keyset";
      const ip = "203.0.113.1";
      // Ten incidents, last activity in pairs (ties, broken by id), created one at a time; another tenant's in between.
      const before = Array.from({ length: 10 }, (_, n) => incident(tenant, { lastSeen: 10_000 + 1000 * Math.floor(n / 2), createdAt: 100 + n, updatedAt: 100 + n }));
      await repo.withSourceLock(tenant, ip, async (tx) => { for (const i of [...before, incident("t-keyset-other", { lastSeen: 12_000 })]) await tx.insertIncident(i); });
      const byId = (a: Incident, b: Incident) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
      const newest = (key: (i: Incident) => number) => [...before].sort((a, b) => key(b) - key(a) || byId(a, b)).map((i) => i.id);
      let clock = 50_000;
      const merge = (i: Incident) => repo.withSourceLock(tenant, ip, (tx) => tx.updateIncident({ ...i, lastSeen: ++clock, updatedAt: clock }));

      /** Pages 3 at a time, each after the last one's final incident, running `between` after each page. */
      const pageThrough = async (sort: "lastSeen" | "createdAt", between: (page: number, listed: string[]) => Promise<void>) => {
        const listed: string[] = [];
        let after: { key: number; id: string } | undefined;
        for (let page = 0; page < 10; page++) {
          const { items } = await repo.listIncidents(tenant, { sort, limit: 3, offset: 0, ...(after ? { after } : {}) });
          if (items.length === 0) break;
          listed.push(...items.map((i) => i.id));
          const last = items.at(-1)!;
          after = { key: sort === "createdAt" ? last.createdAt : last.lastSeen, id: last.id };
          await between(page, listed);
        }
        return listed;
      };
      const unread = (listed: string[]) => newest((i) => i.lastSeen).filter((id) => !listed.includes(id));

      // By last activity: new incidents come in at the front, listed ones gain activity (the front too) or change status:
      // the rest of the list does not move, so nothing is listed twice or skipped (offset paging did both).
      const created: Incident[] = [];
      const listed = await pageThrough("lastSeen", async (page, listed) => {
        const fresh = incident(tenant, { lastSeen: ++clock, createdAt: clock });
        created.push(fresh);
        await repo.withSourceLock(tenant, ip, (tx) => tx.insertIncident(fresh));
        await merge(before.find((i) => i.id === listed[page])!);
        expect(await repo.setIncidentStatus(tenant, unread(listed)[0] ?? listed[0]!, "acknowledged", "anna", clock)).toBeDefined();
      });
      expect(listed).toEqual(newest((i) => i.lastSeen));
      // Those created meanwhile are in a listing started afresh.
      const afresh = (await repo.listIncidents(tenant, { limit: 200, offset: 0 })).items.map((i) => i.id);
      expect(afresh).toHaveLength(before.length + created.length);
      expect(afresh).toEqual(expect.arrayContaining(created.map((i) => i.id)));

      // An incident not listed yet that gains activity moves to the front, which this run has passed: it is not listed
      // (nor is anything twice); a listing started afresh shows it first.
      let jumped = "";
      const skipping = await pageThrough("lastSeen", async (page, listed) => {
        if (page !== 0) return;
        jumped = unread(listed).at(-1)!;
        await merge((await repo.getIncident(tenant, jumped))!);
      });
      expect(new Set(skipping).size).toBe(skipping.length);
      expect(skipping).not.toContain(jumped);
      expect((await repo.listIncidents(tenant, { limit: 1, offset: 0 })).items[0]?.id).toBe(jumped);

      // By creation, which never changes: every incident there at the start exactly once, whatever activity they gain.
      const createdBefore = new Set([...before, ...created].map((i) => i.id));
      const byCreation = await pageThrough("createdAt", async (_page, listed) => {
        await repo.withSourceLock(tenant, ip, (tx) => tx.insertIncident(incident(tenant, { lastSeen: ++clock, createdAt: clock })));
        const notYet = [...createdBefore].filter((id) => !listed.includes(id));
        if (notYet.length > 0) await merge((await repo.getIncident(tenant, notYet.at(-1)!))!);
      });
      expect(byCreation).toHaveLength(createdBefore.size);
      expect(new Set(byCreation)).toEqual(createdBefore);
      const all = await repo.listIncidents(tenant, { sort: "createdAt", limit: 200, offset: 0 });
      expect(all.items.map((i) => i.id).filter((id) => createdBefore.has(id))).toEqual(byCreation);
      // An offset still counts from the position.
      const third = all.items[2]!;
      expect((await repo.listIncidents(tenant, { sort: "createdAt", limit: 2, offset: 1, after: { key: third.createdAt, id: third.id } })).items).toEqual(all.items.slice(4, 6));
    });

    it("changes status within the tenant only and counts open incidents", async () => {
      const i = incident("t-status");
      await repo.withSourceLock("t-status", i.sourceIp, (tx) => tx.insertIncident(i));
      expect(await repo.setIncidentStatus("t-status-other", i.id, "resolved", "eve", 5)).toBeUndefined();
      expect((await repo.getIncident("t-status", i.id))?.status).toBe("open");
      expect((await repo.openIncidentCounts()).find((c) => c.tenant === "t-status")).toEqual({ tenant: "t-status", severity: "medium", count: 1 });
      expect(await repo.setIncidentStatus("t-status", i.id, "contained", "alice", 7)).toMatchObject({ status: "contained", statusChangedBy: "alice", updatedAt: 7 });
      await repo.setIncidentStatus("t-status", i.id, "resolved", "alice", 8);
      expect((await repo.openIncidentCounts()).find((c) => c.tenant === "t-status")).toBeUndefined();
    });

    it("keeps a status an analyst set while a detection pass held the incident: the pass updates its evidence, not its status", async () => {
      // The pass read the incident (open), then an analyst resolved it, then the pass writes its merge back.
      const read = incident("t-race", { lastSeen: 5000 });
      await repo.withSourceLock("t-race", read.sourceIp, (tx) => tx.insertIncident(read));
      await repo.setIncidentStatus("t-race", read.id, "resolved", "anna", 6);
      await repo.withSourceLock("t-race", read.sourceIp, (tx) => tx.saveIncidents([{ incident: { ...read, lastSeen: 9000, riskScore: 80, updatedAt: 7 }, created: false }]));
      expect(await repo.getIncident("t-race", read.id)).toMatchObject({ status: "resolved", statusChangedBy: "anna", lastSeen: 9000, riskScore: 80 });
      // The same through the one-incident write.
      await repo.setIncidentStatus("t-race", read.id, "acknowledged", "bob", 8);
      await repo.withSourceLock("t-race", read.sourceIp, (tx) => tx.updateIncident({ ...read, lastSeen: 9500, updatedAt: 9 }));
      expect(await repo.getIncident("t-race", read.id)).toMatchObject({ status: "acknowledged", statusChangedBy: "bob", lastSeen: 9500 });
    });

    it("holds an incident a pass merges into until the pass ends, so a resolve answered before the merge is never merged into", async () => {
      const held = incident("t-hold", { lastSeen: 5000 });
      await repo.withSourceLock("t-hold", held.sourceIp, (tx) => tx.insertIncident(held));
      let resolvedAt = Number.NaN;
      let mergedAt = Number.NaN;
      let resolving: Promise<unknown> = Promise.resolve();
      await repo.withSourceLock("t-hold", held.sourceIp, async (tx) => {
        const [found] = await tx.findMergeableIncidents([{ tenant: "t-hold", sourceIp: held.sourceIp, actor: "", detectionKey: "T1110.001", from: 4000, to: 9000 }]);
        expect(found?.id).toBe(held.id);
        // An analyst resolves it while the pass still computes its merge.
        resolving = repo.setIncidentStatus("t-hold", held.id, "resolved", "anna", 6).then(() => (resolvedAt = performance.now()));
        await new Promise((r) => setTimeout(r, 300));
        await tx.saveIncidents([{ incident: { ...found!, lastSeen: 9000, updatedAt: 7 }, created: false }]);
        await tx.linkEvidenceTo([{ tenant: "t-hold", incidentId: held.id, events: [event("t-hold", "hold-1", 9000)] }]);
        mergedAt = performance.now();
      });
      await resolving;
      // The resolve is answered after the merge (so it covers it), never before.
      expect(resolvedAt).toBeGreaterThan(mergedAt);
      expect(await repo.getIncident("t-hold", held.id)).toMatchObject({ status: "resolved", lastSeen: 9000, evidence: { total: 1 } });
    });

    it("changes a status only if the incident is still as read, when asked, and moves its version on at every change", async () => {
      const i = incident("t-ifmatch", { updatedAt: 100 });
      await repo.withSourceLock("t-ifmatch", i.sourceIp, (tx) => tx.insertIncident(i));
      // Read at 100; an analyst acknowledges it meanwhile, at the same millisecond as the read: still a new version.
      const first = await repo.setIncidentStatus("t-ifmatch", i.id, "acknowledged", "bob", 100, 100);
      expect(first).toMatchObject({ status: "acknowledged", statusChangedBy: "bob", updatedAt: 101 });
      // The resolve based on the old read is refused, and says what the incident is now.
      expect(await repo.setIncidentStatus("t-ifmatch", i.id, "resolved", "anna", 100, 100)).toEqual({ conflict: expect.objectContaining({ status: "acknowledged", updatedAt: 101 }) as unknown });
      expect((await repo.getIncident("t-ifmatch", i.id))?.status).toBe("acknowledged");
      // A detection pass's merge is a new version too.
      await repo.withSourceLock("t-ifmatch", i.sourceIp, (tx) => tx.saveIncidents([{ incident: { ...i, lastSeen: 9000, updatedAt: 101 }, created: false }]));
      expect((await repo.getIncident("t-ifmatch", i.id))?.updatedAt).toBe(102);
      expect(await repo.setIncidentStatus("t-ifmatch", i.id, "resolved", "anna", 103, 101)).toMatchObject({ conflict: { updatedAt: 102 } });
      expect(await repo.setIncidentStatus("t-ifmatch", i.id, "resolved", "anna", 103, 102)).toMatchObject({ status: "resolved", updatedAt: 103 });
      expect(await repo.setIncidentStatus("t-ifmatch", "00000000-0000-4000-8000-000000000000", "resolved", "anna", 104, 103)).toBeUndefined();
      expect(await repo.setIncidentStatus("t-ifmatch-other", i.id, "resolved", "anna", 104, 103)).toBeUndefined();
    });

    it("keeps users per tenant, locks after repeated failures and unlocks when the lock has run out", async () => {
      expect(await repo.createUser(user("t-users", "alice"))).toBe(true);
      expect(await repo.createUser(user("t-users", "alice"))).toBe(false);
      expect(await repo.findUser("t-users-other", "alice")).toBeUndefined();
      for (let n = 1; n <= 4; n++) expect(await repo.recordFailedLogin("t-users", "alice", 1000, 5, 900_000)).toEqual({ failedLogins: n, lockedUntil: 0 });
      expect(await repo.recordFailedLogin("t-users", "alice", 1000, 5, 900_000)).toEqual({ failedLogins: 5, lockedUntil: 901_000 });
      expect((await repo.findUser("t-users", "alice"))?.lockedUntil).toBe(901_000);
      // After the lock has run out, a failure starts a fresh count.
      expect(await repo.recordFailedLogin("t-users", "alice", 901_000, 5, 900_000)).toEqual({ failedLogins: 1, lockedUntil: 0 });
      await repo.recordSuccessfulLogin("t-users", "alice");
      expect(await repo.findUser("t-users", "alice")).toMatchObject({ failedLogins: 0, lockedUntil: 0, role: "analyst" });
      expect((await repo.listUsers("t-users")).map((u) => u.username)).toEqual(["alice"]);
    });

    it("counts failed logins of a name that is no account as an account's, in the store: same lock, same expiry, per tenant", async () => {
      expect(await repo.createUser(user("t-unknown", "real"))).toBe(true);
      const digest = "ZGlnZXN0LW9mLWEtbmFtZQ";
      const script = async (fail: (at: number) => Promise<unknown>, lockedUntil: (at: number) => Promise<number>) => {
        const seen: unknown[] = [];
        for (let i = 0; i < 4; i++) seen.push(await fail(1000));
        seen.push(await fail(2000), await lockedUntil(2000), await lockedUntil(901_999), await lockedUntil(902_000));
        // A lock that has run out: the next failure starts afresh, and so does one a lock's duration after the last.
        seen.push(await fail(902_000), await fail(1_801_999), await fail(2_701_999));
        return seen;
      };
      const expected = [{ failedLogins: 1, lockedUntil: 0 }, { failedLogins: 2, lockedUntil: 0 }, { failedLogins: 3, lockedUntil: 0 }, { failedLogins: 4, lockedUntil: 0 },
        { failedLogins: 5, lockedUntil: 902_000 }, 902_000, 902_000, 0, { failedLogins: 1, lockedUntil: 0 }, { failedLogins: 2, lockedUntil: 0 }, { failedLogins: 1, lockedUntil: 0 }];
      const accountLock = async (at: number) => {
        const until = (await repo.findUser("t-unknown", "real"))!.lockedUntil;
        return until > at ? until : 0;
      };
      expect(await script((at) => repo.recordFailedLogin("t-unknown", "real", at, 5, 900_000), accountLock)).toEqual(expected);
      expect(await script((at) => repo.recordUnknownNameFailure("t-unknown", digest, at, 5, 900_000), (at) => repo.unknownNameLockedUntil("t-unknown", digest, at))).toEqual(expected);
      // Per tenant; and a count that locks at its first failure.
      expect(await repo.unknownNameLockedUntil("t-unknown-other", digest, 2000)).toBe(0);
      expect(await repo.recordUnknownNameFailure("t-unknown-other", digest, 3000, 1, 900_000)).toEqual({ failedLogins: 1, lockedUntil: 903_000 });
      expect(await repo.unknownNameLockedUntil("t-unknown-other", digest, 3000)).toBe(903_000);
      expect(await repo.unknownNameLockedUntil("t-unknown", digest, 3000)).toBe(0);
    });

    it("replaces a password, raising the credentials version and ending a lockout, and deletes users, within the tenant", async () => {
      expect(await repo.createUser(user("t-creds", "bob"))).toBe(true);
      expect((await repo.findUser("t-creds", "bob"))?.credentialsVersion).toBe(0);
      await repo.recordFailedLogin("t-creds", "bob", 1000, 1, 900_000);
      const changed = await repo.setPassword("t-creds", "bob", "$2b$12$newhashnewhashnewhashnewhashnewhashnewhashnewhashnewha");
      expect(changed).toMatchObject({ credentialsVersion: 1, failedLogins: 0, lockedUntil: 0, passwordHash: "$2b$12$newhashnewhashnewhashnewhashnewhashnewhashnewhashnewha" });
      expect((await repo.setPassword("t-creds", "bob", "$2b$12$x"))?.credentialsVersion).toBe(2);
      expect(await repo.setPassword("t-creds-other", "bob", "$2b$12$x")).toBeUndefined();
      // Only while still at the version the caller checked: a second change over the same old password loses.
      expect((await repo.setPassword("t-creds", "bob", "$2b$12$y", 2))?.credentialsVersion).toBe(3);
      expect(await repo.setPassword("t-creds", "bob", "$2b$12$z", 2)).toBeUndefined();
      expect((await repo.findUser("t-creds", "bob"))?.passwordHash).toBe("$2b$12$y");
      expect(await repo.deleteUser("t-creds-other", "bob")).toBe(false);
      expect(await repo.deleteUser("t-creds", "bob")).toBe(true);
      expect(await repo.findUser("t-creds", "bob")).toBeUndefined();
      expect(await repo.deleteUser("t-creds", "bob")).toBe(false);
    });

    it("keeps a tenant's last admin when asked, also when two admins delete each other at once", async () => {
      const user = (username: string, role: "admin" | "viewer") => ({ tenant: "t-admins", username, passwordHash: "$2b$12$x", role, failedLogins: 0, lockedUntil: 0, createdAt: 1 });
      for (const u of [user("ann", "admin"), user("ben", "admin"), user("vic", "viewer")]) expect(await repo.createUser(u)).toBe(true);
      // Both at once, each the other's: one of them goes, the other is the only admin left and stays.
      const outcomes = await Promise.all([repo.deleteUser("t-admins", "ann", true), repo.deleteUser("t-admins", "ben", true)]);
      expect(outcomes.slice().sort()).toEqual([true, "last-admin"].sort());
      const admins = (await repo.listUsers("t-admins")).filter((u) => u.role === "admin");
      expect(admins).toHaveLength(1);
      expect(await repo.deleteUser("t-admins", admins[0]!.username, true)).toBe("last-admin");
      // A viewer goes whatever the admins; without the flag, the last admin too (offboarding by the Secret's owner).
      expect(await repo.deleteUser("t-admins", "vic", true)).toBe(true);
      expect(await repo.deleteUser("t-admins", "nobody", true)).toBe(false);
      expect(await repo.deleteUser("t-admins", admins[0]!.username)).toBe(true);
    });

    it("revokes a user's tokens by raising the credentials version, keeping the password and the lockout, within the tenant", async () => {
      expect(await repo.createUser(user("t-revoke", "cleo"))).toBe(true);
      await repo.recordFailedLogin("t-revoke", "cleo", 1000, 5, 900_000);
      expect(await repo.revokeTokens("t-revoke", "cleo")).toBe(true);
      expect(await repo.revokeTokens("t-revoke", "cleo")).toBe(true);
      expect(await repo.findUser("t-revoke", "cleo")).toMatchObject({ credentialsVersion: 2, passwordHash: user("t-revoke", "cleo").passwordHash, failedLogins: 1 });
      expect(await repo.revokeTokens("t-revoke-other", "cleo")).toBe(false);
      expect(await repo.revokeTokens("t-revoke", "nobody")).toBe(false);
    });

    it("provisions the first admin once per Secret value: a deleted admin stays deleted, a new value re-provisions it", async () => {
      const admin = (hash: string): NewUser => ({ tenant: "default", username: "admin", passwordHash: hash, role: "admin", failedLogins: 0, lockedUntil: 0, createdAt: 1 });
      const findAdmin = () => repo.findUser("default", "admin");
      expect(await repo.firstAdminSourceApplied("secret-1")).toBe(false);
      expect(await repo.provisionFirstAdmin(admin("$2b$12$first"), "secret-1")).toBe("created");
      expect(await repo.firstAdminSourceApplied("secret-1")).toBe(true);
      expect(await repo.firstAdminSourceApplied("secret-2")).toBe(false);
      expect(await repo.provisionFirstAdmin(admin("$2b$12$first-again"), "secret-1")).toBe("unchanged");
      // A password changed through the API stays while the Secret does.
      await repo.setPassword("default", "admin", "$2b$12$changed");
      expect(await repo.provisionFirstAdmin(admin("$2b$12$first-again"), "secret-1")).toBe("unchanged");
      expect((await findAdmin())?.passwordHash).toBe("$2b$12$changed");
      // Offboarded: not recreated by the next start.
      expect(await repo.deleteUser("default", "admin")).toBe(true);
      expect(await repo.provisionFirstAdmin(admin("$2b$12$first-again"), "secret-1")).toBe("unchanged");
      expect(await findAdmin()).toBeUndefined();
      // A new Secret value: created again, and later given the next value's password (older tokens revoked).
      expect(await repo.provisionFirstAdmin(admin("$2b$12$second"), "secret-2")).toBe("created");
      await repo.recordFailedLogin("default", "admin", 1000, 1, 900_000);
      const before = (await findAdmin())!.credentialsVersion;
      expect(await repo.provisionFirstAdmin(admin("$2b$12$third"), "secret-3")).toBe("reset");
      expect(await findAdmin()).toMatchObject({ passwordHash: "$2b$12$third", credentialsVersion: before + 1, lockedUntil: 0, role: "admin" });
      expect(await repo.provisionFirstAdmin(admin("$2b$12$third"), "secret-3")).toBe("unchanged");
      // A replica still on an older Secret during the rollout changes nothing.
      expect(await repo.provisionFirstAdmin(admin("$2b$12$second"), "secret-2")).toBe("unchanged");
      expect((await findAdmin())?.passwordHash).toBe("$2b$12$third");
    });

    it("serializes detection passes over the same tenant and source", async () => {
      const order: string[] = [];
      const pass = (name: string) => repo.withSourceLock("t-lock", "203.0.113.7", async () => {
        order.push(`${name} start`);
        await new Promise((r) => setTimeout(r, 50));
        order.push(`${name} end`);
      });
      await Promise.all([pass("a"), pass("b")]);
      // Either may get the lock first; what matters is that one finishes before the other starts.
      const first = order[0]!.split(" ")[0]!;
      const second = first === "a" ? "b" : "a";
      expect(order).toEqual([`${first} start`, `${first} end`, `${second} start`, `${second} end`]);
    });

    it("rolls back a failed detection pass", async () => {
      const i = incident("t-rollback");
      await expect(repo.withSourceLock("t-rollback", i.sourceIp, async (tx) => {
        await tx.insertIncident(i);
        throw new Error("detection failed");
      })).rejects.toThrow("detection failed");
      expect(await repo.getIncident("t-rollback", i.id)).toBeUndefined();
    });

    it("keeps what it acknowledged across a close and reopen", async () => {
      await repo.insertEvents([event("t-durable", "kept", 1000)]);
      const i = incident("t-durable");
      await repo.withSourceLock("t-durable", i.sourceIp, (tx) => tx.insertIncident(i));
      await repo.close();
      repo = await open();
      await repo.migrate();
      expect(await repo.countEvents("t-durable")).toBe(1);
      expect((await repo.getIncident("t-durable", i.id))?.id).toBe(i.id);
    });

    // Last: a prune reaches every tenant's old events, the other tests' too.
    it("prunes detected events received before the cutoff, in batches, keeping queued events, incidents and their evidence", async () => {
      const t = "t-prune";
      const ip = "198.51.100.60";
      const drain = async () => {
        while (await repo.detectQueued(1000, () => Promise.resolve())) { /* every queued event detected */ }
      };
      // Received long ago or just now; event times as late as any, so only arrival decides.
      const cutoff = 2_050_000_000_000;
      const received = (e: SecurityEvent, receivedAt: number): SecurityEvent => ({ ...e, receivedAt });
      const old = [1, 2, 3, 4, 5].map((n) => received(event(t, `old-${n}`, 2_100_000_000_000 + n * 1000, ip), 2_000_000_000_000 + n));
      await repo.insertEvents(old);
      const i = incident(t, { sourceIp: ip });
      await repo.withSourceLock(t, ip, async (tx) => {
        await tx.insertIncident(i);
        await tx.linkEvidence(t, i.id, old.slice(0, 2));
      });
      await drain();
      // Received long ago but still queued (stored by a replica whose pass has not run yet), and received now: both stay.
      const queuedOld = received(event(t, "old-queued", 2_100_000_000_000, ip), 2_000_000_000_000);
      const recent = received(event(t, "recent", 2_100_000_009_000, ip), 2_100_000_000_000);
      await repo.insertEvents([queuedOld, recent]);
      const windowIds = () => repo.withSourceLock(t, ip, async (tx) => (await tx.eventsForSource(t, ip, 0, 3_000_000_000_000)).map((e) => e.id));
      // Read once before the prune, so a backend that caches windows (SQLite) holds the old events.
      expect(await windowIds()).toHaveLength(7);

      let pruned = 0;
      for (let n = 2; n === 2; pruned += n) n = await repo.pruneEvents(cutoff, 2);
      expect(pruned).toBeGreaterThanOrEqual(old.length);
      expect(await repo.countEvents(t)).toBe(2);
      expect((await windowIds()).sort()).toEqual(["old-queued", "recent"]);
      const kept = await repo.getIncident(t, i.id);
      expect(kept?.evidence.total).toBe(2);
      expect(kept?.events.map((e) => e.id).sort()).toEqual(["old-1", "old-2"]);

      // Once detected, the old one goes too; the recent one stays, and an event stored after the prune is queued.
      await drain();
      expect(await repo.pruneEvents(cutoff, 100)).toBe(1);
      expect(await repo.countEvents(t)).toBe(1);
      await repo.insertEvents([received(event(t, "after-prune", 2_100_000_010_000, ip), 2_100_000_001_000)]);
      expect(await repo.countQueued()).toBe(1);
      const pass = await repo.detectQueued(10, (events) => Promise.resolve(events.map((e) => e.id)));
      expect(pass?.result).toEqual(["after-prune"]);
    });
  });
}
