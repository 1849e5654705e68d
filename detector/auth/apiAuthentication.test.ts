// API tokens and logins against a running detector: what an attacker would try is refused; lockout starts and ends.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { adminPassword, api, ingestTokens, jwtSigningKey, login, post, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../../test/detector/detectorHarness.ts";
import type { RunningDetector } from "../detector.ts";
import { tokenAudience, tokenIssuer } from "./apiTokens.ts";

// bcrypt at cost 12 and child processes are slow on a loaded 2-core machine: not a reason to fail.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let files: DetectorFiles;
let detector: RunningDetector;
let clockOffset = 0;
const now = () => Date.now() + clockOffset;

beforeAll(async () => {
  files = await writeDetectorFiles();
  detector = await startTestDetector(files, { now });
});
afterAll(async () => {
  await detector?.close();
  await files?.remove();
});

const me = (token: string) => api(`${detector.url}/api/v1/me`, token);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const claims = () => ({ tenant: "default", role: "admin" });

async function signed(key: string, opts: { alg?: string; audience?: string; issuer?: string } = {}): Promise<string> {
  const iat = Math.floor(now() / 1000);
  return new SignJWT(claims()).setProtectedHeader({ alg: opts.alg ?? "HS256" }).setSubject("admin").setIssuer(opts.issuer ?? tokenIssuer)
    .setAudience(opts.audience ?? tokenAudience).setIssuedAt(iat).setExpirationTime(iat + 3600).sign(new TextEncoder().encode(key));
}

describe("API tokens", () => {
  it("the first admin from the Secret logs in and gets an 8-hour token", async () => {
    const r = await login(detector.url, "admin", adminPassword);
    expect(r.status).toBe(200);
    expect(r.json.role).toBe("admin");
    expect(Date.parse(String(r.json.expiresAt)) - now()).toBeGreaterThan(8 * 3600_000 - 5_000);
    expect((await me(r.token)).json).toEqual({ tenant: "default", username: "admin", role: "admin" });
  });

  it("refuses a token after it expires", async () => {
    const { token } = await login(detector.url, "admin", adminPassword);
    clockOffset = 8 * 3600_000 - 60_000;
    expect((await me(token)).status).toBe(200);
    clockOffset = 8 * 3600_000 + 1_000;
    const expired = await me(token);
    clockOffset = 0;
    expect(expired.status).toBe(401);
    expect(expired.json.error).toBe("token expired");
  });

  it("refuses forged, alg none, other-algorithm, wrong-audience and wrong-issuer tokens", async () => {
    const genuine = await signed(jwtSigningKey);
    expect((await me(genuine)).status).toBe(200);
    const refused = {
      forged: await signed("an-attackers-key-0123456789abcdef0123"),
      algNone: `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims(), sub: "admin", iss: tokenIssuer, aud: tokenAudience, iat: Math.floor(now() / 1000), exp: Math.floor(now() / 1000) + 3600 })}.`,
      hs512: await signed(jwtSigningKey, { alg: "HS512" }),
      wrongAudience: await signed(jwtSigningKey, { audience: "some-other-api" }),
      wrongIssuer: await signed(jwtSigningKey, { issuer: "someone-else" }),
      tampered: genuine.replace(/^([^.]+)\.([^.]+)\./, (_m, h: string) => `${h}.${b64({ ...claims(), role: "admin", tenant: "acme", sub: "admin", iss: tokenIssuer, aud: tokenAudience, exp: 9999999999 })}.`),
      garbage: "not.a.token",
    };
    for (const [name, token] of Object.entries(refused)) {
      const r = await me(token);
      expect({ name, status: r.status }).toEqual({ name, status: 401 });
    }
    expect((await fetch(`${detector.url}/api/v1/incidents`)).status).toBe(401);
  });
});

describe("login lockout", () => {
  it("locks the account after five failed logins for 15 minutes, then lets the right password in", async () => {
    for (let i = 1; i <= 4; i++) expect((await login(detector.url, "admin", `wrong-${i}`)).status).toBe(401);
    const fifth = await login(detector.url, "admin", "wrong-5");
    expect(fifth.status).toBe(423);
    // Locked: even the right password is refused.
    const locked = await login(detector.url, "admin", adminPassword);
    expect(locked.status).toBe(423);
    expect(String(locked.json.error)).toMatch(/account locked until/);
    clockOffset = 14 * 60_000;
    expect((await login(detector.url, "admin", adminPassword)).status).toBe(423);
    clockOffset = 15 * 60_000 + 1_000;
    const after = await login(detector.url, "admin", adminPassword);
    expect(after.status).toBe(200);
    expect((await detector.repository.findUser("default", "admin"))).toMatchObject({ failedLogins: 0, lockedUntil: 0 });
    clockOffset = 0;
  });

  it("refuses a user name or tenant holding a NUL character with 400 naming the field (PostgreSQL answered 500)", async () => {
    for (const body of [{ username: "adm\u0000in", password: "x" }, { tenant: "def\u0000ault", username: "admin", password: "x" }]) {
      const r = await post(`${detector.url}/api/v1/auth/login`, JSON.stringify(body));
      expect(r.status).toBe(400);
      expect(r.json.issues).toEqual([{ field: "tenant" in body ? "tenant" : "username", message: "must not contain a NUL character" }]);
    }
  });

  it("answers a name that is no account exactly as an account, lockout included, so a 423 does not tell it exists", async () => {
    const attempts = async (username: string) => {
      const answers: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const r = await login(detector.url, username, `Wrong-Guess-${i}`);
        answers.push(`${r.status} ${String(r.json.error).replace(/\d{4}-\S+/, "<time>")}`);
      }
      return answers;
    };
    await api(`${detector.url}/api/v1/users`, (await login(detector.url, "admin", adminPassword)).token, { method: "POST", body: { username: "real-one", password: "Real-Account-2024", role: "viewer" } });
    const real = await attempts("real-one");
    expect(real.map((a) => a.slice(0, 3))).toEqual(["401", "401", "401", "401", "423", "423"]);
    expect(await attempts("no-such-one")).toEqual(real);
    // Both locks end after 15 minutes, and the count starts again.
    clockOffset = 15 * 60_000 + 1_000;
    expect((await login(detector.url, "no-such-one", "Wrong-Guess-7")).status).toBe(401);
    expect((await login(detector.url, "real-one", "Real-Account-2024")).status).toBe(200);
    clockOffset = 0;
  });

  it("refuses logins beyond those being checked (429, Retry-After) instead of queueing without end, and counts each result", async () => {
    // Its own detector, one check running and one waiting (the defaults are 1 and 8); unknown users, so no account locks.
    const gatedFiles = await writeDetectorFiles();
    const gated = await startTestDetector(gatedFiles, { loginGate: { running: 1, waiting: 1 } });
    try {
      const flood = await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${gated.url}/api/v1/auth/login`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: `flood-${i}`, password: "not-a-password" }),
      })));
      const statuses = flood.map((r) => r.status);
      const busy = flood.filter((r) => r.status === 429);
      // Twelve arrive within one check's 300 ms: two are checked (wrong password), the other ten refused at once.
      expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(2);
      expect(busy.length).toBeGreaterThanOrEqual(6);
      expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
      expect(busy[0]!.headers.get("retry-after")).toBe("1");
      expect(await busy[0]!.json()).toEqual({ error: "too many logins are being checked at once; retry in a second" });
      // The flood is over: the right password works at once.
      expect((await login(gated.url, "admin", adminPassword)).status).toBe(200);
      const metrics = await (await fetch(gated.metricsUrl)).text();
      expect(metrics).toContain(`minixdr_logins_total{result="busy"} ${busy.length}`);
      expect(metrics).toContain(`minixdr_logins_total{result="invalid-credentials"} ${12 - busy.length}`);
      expect(metrics).toContain('minixdr_logins_total{result="success"} 1');
    } finally {
      await gated.close();
      await gatedFiles.remove();
    }
  });

  it("refuses a password that only starts with the right one (bcrypt reads 72 bytes)", async () => {
    const exactly72 = `Aa1-${"z".repeat(68)}`;
    expect(Buffer.byteLength(exactly72)).toBe(72);
    expect((await api(`${detector.url}/api/v1/users`, (await login(detector.url, "admin", adminPassword)).token, { method: "POST", body: { username: "long", password: exactly72, role: "viewer" } })).status).toBe(201);
    expect((await login(detector.url, "long", `${exactly72}WRONG-SUFFIX`)).status).toBe(401);
    expect((await login(detector.url, "long", exactly72)).status).toBe(200);
  });

  it("lets an admin of tenant default create the first admin of another tenant, who then manages their own", async () => {
    const root = (await login(detector.url, "admin", adminPassword)).token;
    const create = (token: string, body: Record<string, unknown>) => api(`${detector.url}/api/v1/users`, token, { method: "POST", body });
    expect((await create(root, { tenant: "acme", username: "ops", password: "Harbor-Lights-2024", role: "admin" })).json).toEqual({ tenant: "acme", username: "ops", role: "admin" });
    const unknown = await create(root, { tenant: "globex", username: "ops", password: "Harbor-Lights-2024", role: "admin" });
    expect(unknown.status).toBe(400);
    expect(unknown.json.issues).toEqual([{ field: "tenant", message: "is not one of the configured tenants (default, acme)" }]);
    const acme = await login(detector.url, "ops", "Harbor-Lights-2024", "acme");
    expect((await me(acme.token)).json).toEqual({ tenant: "acme", username: "ops", role: "admin" });
    // acme's admin manages acme, and cannot reach into default.
    expect((await create(acme.token, { username: "analyst1", password: "Acme-Analyst-2024", role: "analyst" })).json).toMatchObject({ tenant: "acme" });
    expect((await create(acme.token, { tenant: "default", username: "mole", password: "Mole-In-Default-2024", role: "admin" })).status).toBe(403);
    expect(await detector.repository.findUser("default", "mole")).toBeUndefined();
  });

  it("lets nobody of a tenant removed from the config in: logins and earlier tokens are refused, naming the tenant", async () => {
    const root = (await login(detector.url, "admin", adminPassword)).token;
    await api(`${detector.url}/api/v1/users`, root, { method: "POST", body: { tenant: "acme", username: "leaver", password: "Leaving-Acme-2024", role: "admin" } });
    const before = await login(detector.url, "leaver", "Leaving-Acme-2024", "acme");
    expect(before.status).toBe(200);
    // The same store, served by a detector whose config no longer lists acme (its ingest token gone too).
    const reduced = { ...files.config, tenants: ["default"], listen: { ...files.config.listen, port: 0, metricsPort: 0 } };
    await writeFile(join(files.secretsDir, "ingest-token"), `default=${ingestTokens.default}\n`);
    await detector.close();
    detector = await startTestDetector({ ...files, config: reduced }, { now });
    const refused = await login(detector.url, "leaver", "Leaving-Acme-2024", "acme");
    expect(refused).toMatchObject({ status: 401, json: { error: "tenant acme is not served by this detector" } });
    const old = await me(before.token);
    expect(old).toMatchObject({ status: 401, json: { error: "token refused: tenant acme is not served by this detector" } });
    expect((await api(`${detector.url}/api/v1/users`, before.token, { method: "POST", body: { username: "late", password: "Too-Late-For-Acme-2024", role: "analyst" } })).status).toBe(401);
    // default goes on as before.
    expect((await me((await login(detector.url, "admin", adminPassword)).token)).status).toBe(200);
  });

  it("answers an unknown user like a wrong password", async () => {
    const r = await login(detector.url, "nobody", "whatever-password");
    expect(r.status).toBe(401);
    expect(r.json.error).toBe("invalid username or password");
  });
});

describe("user management: password changes and deletion revoke tokens", () => {
  const put = (path: string, token: string, body: unknown) => api(`${detector.url}${path}`, token, { method: "PUT", body });
  const del = (path: string, token: string) => api(`${detector.url}${path}`, token, { method: "DELETE" });
  let admin: string;

  beforeAll(async () => {
    admin = (await login(detector.url, "admin", adminPassword)).token;
    for (const [username, role] of [["dana", "analyst"], ["eve", "viewer"]] as const) {
      const created = await api(`${detector.url}/api/v1/users`, admin, { method: "POST", body: { username, password: "Initial-Pass-2024", role } });
      expect(created.status).toBe(201);
    }
  });

  it("refuses . and .. as usernames (they would be steps in /api/v1/users/:username)", async () => {
    for (const username of [".", ".."]) {
      const r = await api(`${detector.url}/api/v1/users`, admin, { method: "POST", body: { username, password: "Dotted-Name-2024", role: "viewer" } });
      expect(r.status).toBe(400);
      expect((r.json.issues as { field: string; message: string }[])[0]).toEqual({ field: "username", message: "must be 1-64 letters, digits or . _ @ -, and not . or .." });
    }
    expect((await api(`${detector.url}/api/v1/users`, admin, { method: "POST", body: { username: "a.b", password: "Dotted-Name-2024", role: "viewer" } })).status).toBe(201);
  });

  it("an admin's reset signs the user out everywhere, ends a lockout, and the new password works", async () => {
    const before = (await login(detector.url, "dana", "Initial-Pass-2024")).token;
    expect((await me(before)).status).toBe(200);
    for (let i = 0; i < 5; i++) await login(detector.url, "dana", `wrong-${i}`);
    expect((await login(detector.url, "dana", "Initial-Pass-2024")).status).toBe(423);
    expect((await put("/api/v1/users/dana/password", admin, { password: "short" })).status).toBe(400);
    expect((await put("/api/v1/users/dana/password", admin, { password: "Reset-By-Admin-2024" })).status).toBe(204);
    const revoked = await me(before);
    expect(revoked.status).toBe(401);
    expect(revoked.json.error).toBe("token refused: the user signed out or the password was changed since it was issued; sign in again");
    expect((await login(detector.url, "dana", "Initial-Pass-2024")).status).toBe(401);
    expect((await login(detector.url, "dana", "Reset-By-Admin-2024")).status).toBe(200);
    expect((await put("/api/v1/users/nobody/password", admin, { password: "Reset-By-Admin-2024" })).status).toBe(404);
    // Only admins reset passwords.
    const analyst = (await login(detector.url, "dana", "Reset-By-Admin-2024")).token;
    expect((await put("/api/v1/users/eve/password", analyst, { password: "Reset-By-Analyst-2024" })).status).toBe(403);
  });

  it("a user changes their own password with the current one, gets a new token, and their other sessions end", async () => {
    const other = (await login(detector.url, "eve", "Initial-Pass-2024")).token;
    const session = (await login(detector.url, "eve", "Initial-Pass-2024")).token;
    const wrong = await put("/api/v1/me/password", session, { currentPassword: "not-it", newPassword: "Renewed-Pass-2024#" });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error).toBe("the current password is wrong");
    // A wrong current password counts towards the lockout, like a failed login.
    expect((await detector.repository.findUser("default", "eve"))?.failedLogins).toBe(1);
    const weak = await put("/api/v1/me/password", session, { currentPassword: "Initial-Pass-2024", newPassword: "eve" });
    expect(weak.status).toBe(400);
    expect((weak.json.issues as { field: string }[])[0]?.field).toBe("newPassword");
    const changed = await put("/api/v1/me/password", session, { currentPassword: "Initial-Pass-2024", newPassword: "Renewed-Pass-2024#" });
    expect(changed.status).toBe(200);
    expect(changed.json.role).toBe("viewer");
    expect((await me(String(changed.json.token))).json).toEqual({ tenant: "default", username: "eve", role: "viewer" });
    expect((await me(session)).status).toBe(401);
    expect((await me(other)).status).toBe(401);
    expect((await login(detector.url, "eve", "Renewed-Pass-2024#")).status).toBe(200);
  });

  it("of two changes made at once with the same current password, exactly one succeeds", async () => {
    const session = (await login(detector.url, "eve", "Renewed-Pass-2024#")).token;
    const answers = await Promise.all(["Racing-First-2024#", "Racing-Second-2024#"].map((newPassword) =>
      put("/api/v1/me/password", session, { currentPassword: "Renewed-Pass-2024#", newPassword })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The loser is told (409 when its check ran before the winner's write, 403 when after).
    expect([403, 409]).toContain(statuses.find((s) => s !== 200));
    const winner = ["Racing-First-2024#", "Racing-Second-2024#"][answers.findIndex((a) => a.status === 200)]!;
    expect((await login(detector.url, "eve", winner)).status).toBe(200);
    expect((await put("/api/v1/me/password", (await login(detector.url, "eve", winner)).token, { currentPassword: winner, newPassword: "Renewed-Pass-2024#" })).status).toBe(200);
  });

  it("deleting a user ends their sessions at once; an admin cannot delete their own account", async () => {
    const token = (await login(detector.url, "eve", "Renewed-Pass-2024#")).token;
    // A viewer is refused, and the refusal stops there: neither account is touched.
    expect((await del("/api/v1/users/eve", token)).status).toBe(403);
    expect((await del("/api/v1/users/dana", token)).status).toBe(403);
    expect(await detector.repository.findUser("default", "dana")).toBeDefined();
    expect((await del("/api/v1/users/admin", admin)).status).toBe(409);
    expect((await del("/api/v1/users/eve", admin)).status).toBe(204);
    const gone = await me(token);
    expect(gone.status).toBe(401);
    expect(gone.json.error).toBe("token refused: the user no longer exists");
    expect((await login(detector.url, "eve", "Renewed-Pass-2024#")).status).toBe(401);
    expect((await del("/api/v1/users/eve", admin)).status).toBe(404);
    // A user deleted and created again under the same name starts at credentials version 0 again: a token of the
    // first one (issued at version 0 too) must not work for the second, who has another role.
    const createFay = (role: string) => api(`${detector.url}/api/v1/users`, admin, { method: "POST", body: { username: "fay", password: "Kestrel-Pass-2024", role } });
    expect((await createFay("viewer")).status).toBe(201);
    const first = (await login(detector.url, "fay", "Kestrel-Pass-2024")).token;
    expect((await del("/api/v1/users/fay", admin)).status).toBe(204);
    expect((await createFay("analyst")).status).toBe(201);
    const reborn = await me(first);
    expect(reborn.status).toBe(401);
    expect(reborn.json.error).toBe("token refused: it was issued to an earlier user of that name");
    expect((await me((await login(detector.url, "fay", "Kestrel-Pass-2024")).token)).json).toMatchObject({ username: "fay", role: "analyst" });
    expect((await del("/api/v1/users/dana", admin)).status).toBe(204);
  });
});

describe("logout", () => {
  const logout = (token: string) => api(`${detector.url}/api/v1/auth/logout`, token, { method: "POST" });

  it("signs the user out of every session: this token and their others stop working, another user's do not", async () => {
    const admin = (await login(detector.url, "admin", adminPassword)).token;
    for (const username of ["gus", "hal"]) {
      expect((await api(`${detector.url}/api/v1/users`, admin, { method: "POST", body: { username, password: "Logout-Test-2024", role: "viewer" } })).status).toBe(201);
    }
    const session = (await login(detector.url, "gus", "Logout-Test-2024")).token;
    const otherTab = (await login(detector.url, "gus", "Logout-Test-2024")).token;
    const hal = (await login(detector.url, "hal", "Logout-Test-2024")).token;
    expect((await logout("")).status).toBe(401);
    expect((await logout(session)).status).toBe(204);
    expect((await me(session)).status).toBe(401);
    expect((await me(otherTab)).status).toBe(401);
    // A token used after logout is refused there too: logging out twice is not a way to keep a session.
    expect((await logout(session)).status).toBe(401);
    expect((await me(hal)).json).toEqual({ tenant: "default", username: "hal", role: "viewer" });
    expect((await me(admin)).status).toBe(200);
    // The password is unchanged: signing in again gives a working token.
    const again = (await login(detector.url, "gus", "Logout-Test-2024")).token;
    expect((await me(again)).status).toBe(200);
  });
});

describe("the first admin from the Secret", () => {
  it("stays deleted across restarts while the Secret is unchanged, and comes back with a rotated Secret's password", async () => {
    const own = await writeDetectorFiles();
    let running = await startTestDetector(own);
    try {
      const token = (await login(running.url, "admin", adminPassword)).token;
      // Offboard the shared bootstrap admin: another admin deletes it.
      expect((await api(`${running.url}/api/v1/users`, token, { method: "POST", body: { username: "olga", password: "Named-Admin-2024", role: "admin" } })).status).toBe(201);
      const olga = (await login(running.url, "olga", "Named-Admin-2024")).token;
      expect((await api(`${running.url}/api/v1/users/admin`, olga, { method: "DELETE" })).status).toBe(204);
      await running.close();
      running = await startTestDetector(own);
      expect((await login(running.url, "admin", adminPassword)).status).toBe(401);
      // The way back in: rotate the Secret's admin-password-hash.
      await running.close();
      await writeFile(join(own.secretsDir, "admin-password-hash"), bcrypt.hashSync("Rotated-Admin-2024", 4));
      running = await startTestDetector(own);
      expect((await login(running.url, "admin", "Rotated-Admin-2024")).status).toBe(200);
    } finally {
      await running.close();
      await own.remove();
    }
  });
});
