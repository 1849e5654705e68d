// Login (anyone); logout, who-am-I and one's own password (viewer); users: list, create, reset a password, delete (admin).
import type { FastifyPluginCallback, FastifyReply } from "fastify";
import { z } from "zod";
import type { Accounts, LoginResult, PasswordChangeResult } from "../auth/accounts.ts";
import { roles, usernamePattern } from "../auth/user.ts";
import type { Repository } from "../store/repository.ts";
import { requireRole, type ApiAuth } from "./authentication.ts";
import { parseOr400 } from "./requestValidation.ts";

const username = z.string().regex(usernamePattern, "must be 1-64 letters, digits or . _ @ -, and not . or ..");
// No NUL in what is looked up: PostgreSQL's text cannot hold one (a login with "adm\u0000in" was a 500).
const lookedUp = (max: number) => z.string().min(1).max(max).refine((s) => !s.includes("\u0000"), "must not contain a NUL character");
const loginBody = z.strictObject({ tenant: lookedUp(63).default("default"), username: lookedUp(64), password: z.string().min(1).max(1024) });
const newUserBody = z.strictObject({ username, password: z.string().max(1024), role: z.enum(roles), tenant: z.string().max(63).optional() });
const userParams = z.strictObject({ username });
const ownPasswordBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().max(1024) });
const passwordBody = z.strictObject({ password: z.string().max(1024) });

export interface UserRouteDeps {
  accounts: Accounts;
  auth: ApiAuth;
  repository: Repository;
  now: () => number;
  /** The configured tenants: an admin of `default` may create a user in any of them (the first admin of each). */
  tenants: readonly string[];
  /** Each login's outcome: `success`, or the refusal's reason (`invalid-credentials`, `locked`, `busy`). */
  onLogin?(result: "success" | Exclude<LoginResult, { ok: true }>["reason"]): void;
}

/** A fastify plugin: `app.register(userRoutes, deps)`. */
export const userRoutes: FastifyPluginCallback<UserRouteDeps> = (app, deps, done) => {
  /**
   * Who a refused login was for, as the log says it: an account's name, or only the keyed digest of a name that is no
   * account (as the store counts it): that may be a password typed into the wrong field, and logs are read more widely.
   */
  const loginName = (username: string, account: boolean) => (account ? { username } : { nameDigest: deps.accounts.nameDigest(username) });
  /** 423 for a locked account, with how long is left; a login and a password change answer it alike. */
  const locked = (reply: FastifyReply, lockedUntil: number): FastifyReply =>
    reply.code(423).header("retry-after", String(Math.max(1, Math.ceil((lockedUntil - deps.now()) / 1000))))
      .send({ error: `account locked until ${new Date(lockedUntil).toISOString()} after repeated failed logins` });
  /** 429 while too many passwords are being checked (`LoginGate`). */
  const busy = (reply: FastifyReply): FastifyReply =>
    reply.code(429).header("retry-after", "1").send({ error: "too many logins are being checked at once; retry in a second" });

  app.post("/api/v1/auth/login", async (req, reply) => {
    const body = parseOr400(loginBody, req.body, "body", reply);
    if (!body) return reply;
    // A tenant removed from the config keeps its users in the store, but nobody of it signs in any more.
    if (!deps.tenants.includes(body.tenant)) {
      deps.onLogin?.("invalid-credentials");
      req.log.warn({ tenant: body.tenant, ...loginName(body.username, false) }, "login refused: tenant not served");
      return reply.code(401).send({ error: `tenant ${body.tenant} is not served by this detector` });
    }
    const result = await deps.accounts.login(body.tenant, body.username, body.password);
    deps.onLogin?.(result.ok ? "success" : result.reason);
    if (result.ok) return { token: result.token, expiresAt: new Date(result.expiresAt).toISOString(), role: result.role };
    if (result.reason === "busy") {
      // A flood would write one warning per request: minixdr_logins_total{result="busy"} counts them instead.
      // Nothing was looked up: whether the name is an account is not known.
      req.log.debug({ tenant: body.tenant, ...loginName(body.username, false), reason: result.reason }, "login refused");
      return busy(reply);
    }
    req.log.warn({ tenant: body.tenant, ...loginName(body.username, result.account), reason: result.reason }, "login refused");
    if (result.reason === "locked") return locked(reply, result.lockedUntil);
    return reply.code(401).send({ error: "invalid username or password" });
  });

  /** The answer to a refused password change (400 weak, 403 wrong current password, 404, 409 changed meanwhile, 423 locked, 429 busy). */
  const refusedChange = (reply: FastifyReply, result: Exclude<PasswordChangeResult, { ok: true }>, username: string, field: string): FastifyReply => {
    switch (result.reason) {
      case "weak-password":
        return reply.code(400).send({ error: "invalid body", issues: result.problems.map((message) => ({ field, message })) });
      case "wrong-password":
        return reply.code(403).send({ error: "the current password is wrong" });
      case "no-such-user":
        return reply.code(404).send({ error: `no user ${username}` });
      case "changed-meanwhile":
        return reply.code(409).send({ error: "the password was changed by another request meanwhile; sign in again with the new one" });
      case "locked":
        return locked(reply, result.lockedUntil);
      case "busy":
        return busy(reply);
    }
  };

  const viewer = requireRole(deps.auth, "viewer");
  app.get("/api/v1/me", { onRequest: viewer }, (req, reply) => reply.send(req.principal));

  // Logout: every token of the user stops working, this one and those of their other sessions (a token cannot be
  // revoked alone: tokens carry only the user's credentials version, which this raises).
  app.post("/api/v1/auth/logout", { onRequest: viewer }, async (req, reply) => {
    const { tenant, username } = req.principal!;
    await deps.repository.revokeTokens(tenant, username);
    req.log.info({ tenant, username }, "logged out; the user's tokens revoked");
    return reply.code(204).send();
  });

  // Every earlier token of the user stops working: the answer carries a new one for this session.
  app.put("/api/v1/me/password", { onRequest: viewer }, async (req, reply) => {
    const body = parseOr400(ownPasswordBody, req.body, "body", reply);
    if (!body) return reply;
    const { tenant, username } = req.principal!;
    const result = await deps.accounts.changeOwnPassword(tenant, username, body.currentPassword, body.newPassword);
    if (!result.ok) {
      if (result.reason === "wrong-password" || result.reason === "locked") req.log.warn({ tenant, username, reason: result.reason }, "password change refused");
      return refusedChange(reply, result, username, "newPassword");
    }
    req.log.info({ tenant, username }, "password changed; earlier tokens revoked");
    const { token, expiresAt } = await deps.accounts.issueFor(result.user);
    return { token, expiresAt: new Date(expiresAt).toISOString(), role: result.user.role };
  });

  const admin = requireRole(deps.auth, "admin");
  app.get("/api/v1/users", { onRequest: admin }, async (req) => {
    const users = await deps.repository.listUsers(req.principal!.tenant);
    return { items: users.map((u) => ({ username: u.username, role: u.role, locked: u.lockedUntil > deps.now(), createdAt: new Date(u.createdAt).toISOString() })) };
  });

  app.post("/api/v1/users", { onRequest: admin }, async (req, reply) => {
    const body = parseOr400(newUserBody, req.body, "body", reply);
    if (!body) return reply;
    // Only tenant `default` has an admin from the Secret: its admins bring up the others (their first admin, say),
    // whose admins then manage their own users. Nobody else names a tenant other than their own.
    const tenant = body.tenant ?? req.principal!.tenant;
    if (tenant !== req.principal!.tenant) {
      if (req.principal!.tenant !== "default") return reply.code(403).send({ error: "only an admin of tenant default creates users in another tenant" });
      if (!deps.tenants.includes(tenant)) {
        return reply.code(400).send({ error: "invalid body", issues: [{ field: "tenant", message: `is not one of the configured tenants (${deps.tenants.join(", ")})` }] });
      }
    }
    const result = await deps.accounts.createUser(tenant, body.username, body.password, body.role);
    if (!result.ok && result.reason === "weak-password") {
      return reply.code(400).send({ error: "invalid body", issues: result.problems.map((message) => ({ field: "password", message })) });
    }
    if (!result.ok) return reply.code(409).send({ error: `user ${body.username} already exists` });
    return reply.code(201).send({ username: result.user.username, role: result.user.role, tenant: result.user.tenant });
  });

  // A reset: the user's tokens stop working and any lockout ends.
  app.put("/api/v1/users/:username/password", { onRequest: admin }, async (req, reply) => {
    const params = parseOr400(userParams, req.params, "params", reply);
    if (!params) return reply;
    const body = parseOr400(passwordBody, req.body, "body", reply);
    if (!body) return reply;
    const tenant = req.principal!.tenant;
    const result = await deps.accounts.setPassword(tenant, params.username, body.password);
    if (!result.ok) return refusedChange(reply, result, params.username, "password");
    req.log.info({ tenant, username: params.username, by: req.principal!.username }, "password reset; the user's tokens revoked");
    return reply.code(204).send();
  });

  // Offboarding: the user's tokens stop working at once. Not one's own account, so a tenant keeps an admin.
  app.delete("/api/v1/users/:username", { onRequest: admin }, async (req, reply) => {
    const params = parseOr400(userParams, req.params, "params", reply);
    if (!params) return reply;
    const { tenant, username: by } = req.principal!;
    if (params.username === by) return reply.code(409).send({ error: "you cannot delete your own account; another admin can" });
    const deleted = await deps.repository.deleteUser(tenant, params.username, true);
    // Only when another admin deleted this one meanwhile: the tenant keeps an admin.
    if (deleted === "last-admin") return reply.code(409).send({ error: `${params.username} is the tenant's only admin now; it keeps one` });
    if (!deleted) return reply.code(404).send({ error: `no user ${params.username}` });
    req.log.info({ tenant, username: params.username, by }, "user deleted; their tokens revoked");
    return reply.code(204).send();
  });
  done();
};
