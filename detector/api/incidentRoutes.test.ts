// The incident routes as a plugin, through app.inject() (no socket), on a real SQLite store seeded with incidents:
// what each filter selects, how pages fit together, who may read and change what.
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokens } from "../auth/apiTokens.ts";
import type { Role } from "../auth/user.ts";
import type { Incident, Severity } from "../incidents/incident.ts";
import { incident } from "../store/repositoryContract.ts";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { incidentRoutes } from "./incidentRoutes.ts";

const now = Date.parse("2024-06-01T12:00:00Z");
const minute = 60_000;
let repository: SqliteRepository;
let tokens: ApiTokens;
let app: FastifyInstance;
const seeded: Incident[] = [];

async function tokenFor(tenant: string, username: string, role: Role): Promise<string> {
  await repository.createUser({ tenant, username, passwordHash: "$2b$12$abcdefghijklmnopqrstuuQ0Qe0pGQq1CZQF3l5l6s7p8m9n0o1p2", role, failedLogins: 0, lockedUntil: 0, createdAt: now });
  return (await tokens.issue({ tenant, username, role, credentialsVersion: 0, userCreatedAt: now })).token;
}

const list = async (token: string, query = "") => {
  const r = await app.inject({ method: "GET", url: `/api/v1/incidents${query}`, headers: { authorization: `Bearer ${token}` } });
  return { status: r.statusCode, body: r.json<{ items: { id: string; sourceIp: string; severity: Severity }[]; total: number; next: string | null; issues?: { field: string; message: string }[] }>() };
};

let viewer: string;
let analyst: string;
let otherTenant: string;

beforeAll(async () => {
  repository = new SqliteRepository(":memory:");
  await repository.migrate();
  tokens = new ApiTokens("inject-test-signing-key-0123456789abcdef", () => now);
  // 25 incidents of tenant default, one a minute, alternating severity and technique, from five sources; two of acme.
  for (let i = 0; i < 25; i++) {
    const severity: Severity = i % 3 === 0 ? "high" : "medium";
    const technique = i % 2 === 0 ? { id: "T1110.001", name: "Brute Force: Password Guessing", tactic: "Credential Access" } : { id: "T1046", name: "Network Service Discovery", tactic: "Discovery" };
    seeded.push(incident("default", { sourceIp: i === 24 ? "2001:db8::7" : `203.0.113.${i % 5}`, severity, detectionKey: technique.id, techniques: [technique], firstSeen: now - (40 - i) * minute, lastSeen: now - (30 - i) * minute }));
  }
  seeded.push(incident("acme", { sourceIp: "198.51.100.9", lastSeen: now }), incident("acme", { sourceIp: "198.51.100.9", lastSeen: now - minute }));
  for (const i of seeded) await repository.withSourceLock(i.tenant, i.sourceIp, (tx) => tx.insertIncident(i));
  app = Fastify();
  await app.register(incidentRoutes, { repository, auth: { tokens, findUser: (t, u) => repository.findUser(t, u), tenants: ["default", "acme", "paging"] }, now: () => now });
  viewer = await tokenFor("default", "vera", "viewer");
  analyst = await tokenFor("default", "anna", "analyst");
  otherTenant = await tokenFor("acme", "carol", "admin");
});
afterAll(async () => {
  await app?.close();
  await repository?.close();
});

describe("listing incidents", () => {
  it("pages through every incident of the tenant once, newest last event first, with a stable total", async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 30; offset += 7) {
      const page = await list(viewer, `?limit=7&offset=${offset}`);
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(25);
      seen.push(...page.body.items.map((i) => i.id));
    }
    const expected = seeded.filter((i) => i.tenant === "default").sort((a, b) => b.lastSeen - a.lastSeen).map((i) => i.id);
    expect(seen).toEqual(expected);
  });

  it("selects exactly the incidents each filter names, and their combination", async () => {
    const mine = seeded.filter((i) => i.tenant === "default");
    const ids = (xs: Incident[]) => xs.map((i) => i.id).sort();
    const listed = async (q: string) => (await list(viewer, `${q}&limit=200`)).body.items.map((i) => i.id).sort();
    expect(await listed("?severity=high")).toEqual(ids(mine.filter((i) => i.severity === "high")));
    expect(await listed("?technique=T1046")).toEqual(ids(mine.filter((i) => i.detectionKey === "T1046")));
    expect(await listed("?sourceIp=203.0.113.2")).toEqual(ids(mine.filter((i) => i.sourceIp === "203.0.113.2")));
    const since = new Date(now - 10 * minute).toISOString();
    expect(await listed(`?since=${since}`)).toEqual(ids(mine.filter((i) => i.lastSeen >= now - 10 * minute)));
    expect(await listed(`?severity=high&technique=T1110.001&since=${since}`))
      .toEqual(ids(mine.filter((i) => i.severity === "high" && i.detectionKey === "T1110.001" && i.lastSeen >= now - 10 * minute)));
    expect((await list(viewer, "?sourceIp=198.51.100.9")).body.total).toBe(0);
    // An address is found however it is spelled (the store holds IPv6 in RFC 5952 form).
    const v6 = mine.find((i) => i.sourceIp === "2001:db8::7")!;
    for (const spelling of ["2001:db8::7", "2001:DB8:0::7", "2001:0db8:0000:0000:0000:0000:0000:0007"]) {
      expect(await listed(`?sourceIp=${encodeURIComponent(spelling)}`), spelling).toEqual([v6.id]);
    }
  });

  it("refuses bad filters with 400 naming each one", async () => {
    const r = await list(viewer, "?severity=urgent&limit=0&since=yesterday&technique=T99");
    expect(r.status).toBe(400);
    expect((r.body.issues as { field: string }[]).map((i) => i.field).sort()).toEqual(["limit", "severity", "since", "technique"]);
    expect((await list(viewer, "?limit=201")).status).toBe(400);
    for (const q of ["?limit=0x10", "?offset=1e3", "?limit=%207", "?limit=1.5"]) {
      const r = await list(viewer, q);
      expect({ q, status: r.status }).toEqual({ q, status: 400 });
    }
  });
});

describe("who may do what", () => {
  it("answers 401 with a Bearer challenge without a valid token, or for a user deleted since", async () => {
    for (const authorization of [undefined, "Bearer not-a-jwt", `Basic ${Buffer.from("vera:x").toString("base64")}`]) {
      const r = await app.inject({ method: "GET", url: "/api/v1/incidents", headers: authorization ? { authorization } : {} });
      expect(r.statusCode, authorization).toBe(401);
      expect(r.headers["www-authenticate"]).toBe('Bearer realm="minixdr"');
    }
    const gone = await tokenFor("default", "gone", "admin");
    expect((await list(gone)).status).toBe(200);
    await repository.deleteUser("default", "gone");
    expect((await list(gone)).status).toBe(401);
  });

  it("lets an analyst, not a viewer, change a status, and records who did", async () => {
    const target = seeded[3]!;
    const patch = (token: string, status: string) => app.inject({ method: "PATCH", url: `/api/v1/incidents/${target.id}`, headers: { authorization: `Bearer ${token}` }, payload: { status } });
    expect((await patch(viewer, "acknowledged")).statusCode).toBe(403);
    expect((await repository.getIncident("default", target.id))!.status).toBe("open");
    const r = await patch(analyst, "acknowledged");
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: target.id, status: "acknowledged", statusChangedBy: "anna" });
    expect((await list(viewer, "?status=acknowledged")).body.items.map((i) => i.id)).toEqual([target.id]);
  });

  it("versions an incident with an ETag, and refuses a change made against an older version (If-Match) with 412 and the incident as it is", async () => {
    const target = seeded[5]!;
    const url = `/api/v1/incidents/${target.id}`;
    const read = await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${viewer}` } });
    const etag = read.headers.etag as string;
    expect(etag).toMatch(/^"\d+"$/);
    const patch = (status: string, ifMatch?: string) => app.inject({ method: "PATCH", url, headers: { authorization: `Bearer ${analyst}`, ...(ifMatch ? { "if-match": ifMatch } : {}) }, payload: { status } });
    // Two analysts read the same version; the first change wins, the second is told what changed.
    const first = await patch("acknowledged", etag);
    expect(first.statusCode).toBe(200);
    expect(first.headers.etag).not.toBe(etag);
    const second = await patch("resolved", etag);
    expect(second.statusCode).toBe(412);
    expect(second.json()).toMatchObject({ error: expect.stringMatching(/changed since it was read/) as string, incident: { id: target.id, status: "acknowledged" } });
    expect(second.headers.etag).toBe(first.headers.etag);
    expect((await repository.getIncident("default", target.id))!.status).toBe("acknowledged");
    // With the current version, "*", or no If-Match at all, the change is made.
    expect((await patch("contained", first.headers.etag as string)).statusCode).toBe(200);
    expect((await patch("acknowledged", "*")).statusCode).toBe(200);
    expect((await patch("resolved")).statusCode).toBe(200);
    expect((await patch("open", "W/\"1\"")).statusCode).toBe(400);
  });

  it("never shows or changes another tenant's incident, even by id", async () => {
    const theirs = seeded.find((i) => i.tenant === "acme")!;
    const get = await app.inject({ method: "GET", url: `/api/v1/incidents/${theirs.id}`, headers: { authorization: `Bearer ${viewer}` } });
    expect(get.statusCode).toBe(404);
    const patch = await app.inject({ method: "PATCH", url: `/api/v1/incidents/${theirs.id}`, headers: { authorization: `Bearer ${analyst}` }, payload: { status: "resolved" } });
    expect(patch.statusCode).toBe(404);
    expect((await repository.getIncident("acme", theirs.id))!.status).toBe("open");
    const acme = await list(otherTenant);
    expect(acme.body.items.map((i) => i.sourceIp)).toEqual(["198.51.100.9", "198.51.100.9"]);
  });
});

describe("paging with a cursor", () => {
  const tenant = "paging";
  const ip = "192.0.2.10";
  let pager: string;
  let clock = now;
  const before: Incident[] = [];
  const insert = (over: Partial<Incident>) => {
    const i = incident(tenant, { sourceIp: ip, ...over });
    return repository.withSourceLock(tenant, ip, (tx) => tx.insertIncident(i)).then(() => i);
  };
  /** New activity merged into an incident by detection: its last event is now the newest. */
  const merge = async (id: string) => {
    const i = (await repository.getIncident(tenant, id))!;
    await repository.withSourceLock(tenant, ip, (tx) => tx.updateIncident({ ...i, lastSeen: ++clock, updatedAt: clock }));
  };
  const setStatus = (id: string, status: string) => app.inject({ method: "PATCH", url: `/api/v1/incidents/${id}`, headers: { authorization: `Bearer ${pager}` }, payload: { status } });
  /** Every page of a listing, following `next`; `between` runs after each page, before the next is asked for. */
  const pageThrough = async (query: string, between: (listed: string[]) => Promise<void>) => {
    const listed: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 20; n++) {
      const page = await list(pager, `?limit=3${query}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      listed.push(...page.body.items.map((i) => i.id));
      cursor = page.body.next;
      if (cursor === null) return listed;
      await between(listed);
    }
    throw new Error("next never ran out");
  };

  beforeAll(async () => {
    pager = await tokenFor(tenant, "pat", "analyst");
    // Fourteen incidents, last activity in pairs (ties are broken by id), created a minute apart.
    for (let n = 0; n < 14; n++) before.push(await insert({ lastSeen: now - (20 - Math.floor(n / 2)) * minute, createdAt: now - (30 - n) * minute }));
  });

  it("lists every incident there at the start exactly once, 3 at a time, while detection creates and merges incidents and analysts change them between pages", async () => {
    const newestActivity = [...before].sort((a, b) => b.lastSeen - a.lastSeen || (a.id < b.id ? 1 : -1)).map((i) => i.id);
    const unread = (listed: string[]) => newestActivity.filter((id) => !listed.includes(id));
    const created: string[] = [];
    const listed = await pageThrough("", async (listed) => {
      // A new incident (at the front), new activity on one already listed (to the front), and status changes on
      // one listed and one not: with offset paging each shifted the pages after it.
      created.push((await insert({ lastSeen: ++clock, createdAt: clock })).id);
      await merge(listed.at(-1)!);
      expect((await setStatus(listed[0]!, "resolved")).statusCode).toBe(200);
      if (unread(listed).length > 0) expect((await setStatus(unread(listed).at(-1)!, "acknowledged")).statusCode).toBe(200);
    });
    expect(listed).toEqual(newestActivity);
    // What was created meanwhile is in the list started again, ahead of everything that was there.
    const again = (await list(pager, "?limit=200")).body.items.map((i) => i.id);
    expect(again.slice(0, again.indexOf(newestActivity[0]!))).toEqual(expect.arrayContaining(created));

    // By creation, even an incident not listed yet that gains activity (moving to the front of the default order) is listed once.
    const there = (await list(pager, "?sort=createdAt&limit=200")).body.items.map((i) => i.id);
    const byCreation = await pageThrough("&sort=createdAt", async (listed) => {
      await insert({ lastSeen: ++clock, createdAt: clock });
      const notYet = there.filter((id) => !listed.includes(id));
      if (notYet.length > 0) await merge(notYet.at(-1)!);
    });
    expect(byCreation).toEqual(there);
  });

  it("keeps to the filters a cursor was issued with: an incident leaving them meanwhile makes the next page skip nothing", async () => {
    const open = (await list(pager, "?status=open&limit=200")).body.items.map((i) => i.id);
    expect(open.length).toBeGreaterThan(6);
    const listed = await pageThrough("&status=open", async (listed) => {
      // One listed already is resolved: with an offset, the next page would have skipped one.
      expect((await setStatus(listed.at(-1)!, "resolved")).statusCode).toBe(200);
    });
    expect(listed).toEqual(open);
  });

  it("answers next: null on the last page, also when the last page is exactly full", async () => {
    const total = (await list(pager, "?limit=1")).body.total;
    const full = await list(pager, `?limit=${total}`);
    expect(full.body.items).toHaveLength(total);
    expect(full.body.next).toBeNull();
    const first = await list(pager, `?limit=${total - 1}`);
    const last = await list(pager, `?limit=${total - 1}&cursor=${first.body.next}`);
    expect(last.body.items).toHaveLength(1);
    expect(last.body.next).toBeNull();
  });

  it("refuses a cursor it did not issue, or issued for another listing, with 400 naming cursor; and a sort it does not offer, naming sort", async () => {
    const cursorOf = async (token: string, query: string) => (await list(token, `?limit=1${query}`)).body.next!;
    const plain = await cursorOf(pager, "");
    const decoded = JSON.parse(Buffer.from(plain, "base64url").toString()) as Record<string, unknown>;
    const edited = (over: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...decoded, ...over })).toString("base64url");
    const refused: [string, RegExp][] = [
      ["?cursor=not%20a%20cursor", /not a cursor this API issued/],
      [`?cursor=${plain.slice(0, -4)}`, /not a cursor this API issued/],
      [`?cursor=${Buffer.from("{}").toString("base64url")}`, /not a cursor this API issued/],
      [`?cursor=${edited({ id: "1 OR 1=1" })}`, /not a cursor this API issued/],
      [`?cursor=${edited({ key: 1.5 })}`, /not a cursor this API issued/],
      [`?cursor=${edited({ v: 2 })}`, /not a cursor this API issued/],
      [`?cursor=${"A".repeat(600)}`, /not a cursor this API issued/],
      ["?cursor=", /must not be empty/],
      [`?cursor=${plain}&offset=3`, /cannot be combined with offset/],
      [`?cursor=${plain}&severity=high`, /another listing \(other filters\)/],
      [`?cursor=${await cursorOf(pager, "&status=open")}`, /another listing \(other filters\)/],
      [`?cursor=${await cursorOf(pager, "&sort=createdAt")}`, /sorted by createdAt, not lastSeen/],
      [`?cursor=${await cursorOf(otherTenant, "")}`, /another listing/],
    ];
    for (const [query, message] of refused) {
      const r = await list(pager, query);
      expect({ query, status: r.status, issues: r.body.issues }).toEqual({ query, status: 400, issues: [{ field: "cursor", message: expect.stringMatching(message) as string }] });
    }
    const sort = await list(pager, "?sort=riskScore");
    expect(sort.status).toBe(400);
    expect(sort.body.issues).toEqual([{ field: "sort", message: expect.stringMatching(/must be one of lastSeen, createdAt/) as string }]);
    // The cursor it did issue still works; so does a position before 1970 (event times may be).
    expect((await list(pager, `?limit=1&cursor=${plain}`)).status).toBe(200);
    expect((await list(pager, `?limit=1&cursor=${edited({ key: -5 })}`)).status).toBe(200);
  });
});
