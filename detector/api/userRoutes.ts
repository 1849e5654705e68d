// Login (anyone), who-am-I (viewer), user listing and creation (admin).
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Accounts, LoginResult } from "../auth/accounts.ts";
import type { ApiTokens } from "../auth/apiTokens.ts";
import { roles } from "../auth/user.ts";
import type { Repository } from "../store/repository.ts";
import { requireRole } from "./authentication.ts";
import { parseOr400 } from "./requestValidation.ts";

const username = z.string().regex(/^[a-zA-Z0-9._@-]{1,64}$/, "must be 1-64 letters, digits or . _ @ -");
const loginBody = z.strictObject({ tenant: z.string().min(1).max(63).default("default"), username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
const newUserBody = z.strictObject({ username, password: z.string().max(1024), role: z.enum(roles) });

export interface UserRouteDeps {
  accounts: Accounts;
  tokens: ApiTokens;
  repository: Repository;
  now: () => number;
  /** Each login's outcome: `success`, or the refusal's reason (`invalid-credentials`, `locked`, `busy`). */
  onLogin?(result: "success" | Exclude<LoginResult, { ok: true }>["reason"]): void;
}

export function registerUserRoutes(app: FastifyInstance, deps: UserRouteDeps): void {
  app.post("/api/v1/auth/login", async (req, reply) => {
    const body = parseOr400(loginBody, req.body, "body", reply);
    if (!body) return reply;
    const result = await deps.accounts.login(body.tenant, body.username, body.password);
    deps.onLogin?.(result.ok ? "success" : result.reason);
    if (result.ok) return { token: result.token, expiresAt: new Date(result.expiresAt).toISOString(), role: result.role };
    if (result.reason === "busy") {
      // A flood would write one warning per request: minixdr_logins_total{result="busy"} counts them instead.
      req.log.debug({ tenant: body.tenant, username: body.username, reason: result.reason }, "login refused");
      return reply.code(429).header("retry-after", "1").send({ error: "too many logins are being checked at once; retry in a second" });
    }
    req.log.warn({ tenant: body.tenant, username: body.username, reason: result.reason }, "login refused");
    if (result.reason === "locked") {
      const retryAfter = Math.ceil((result.lockedUntil - deps.now()) / 1000);
      return reply.code(423).header("retry-after", String(Math.max(1, retryAfter))).send({ error: `account locked until ${new Date(result.lockedUntil).toISOString()} after repeated failed logins` });
    }
    return reply.code(401).send({ error: "invalid username or password" });
  });

  app.get("/api/v1/me", { onRequest: requireRole(deps.tokens, "viewer") }, (req, reply) => reply.send(req.principal));

  const admin = requireRole(deps.tokens, "admin");
  app.get("/api/v1/users", { onRequest: admin }, async (req) => {
    const users = await deps.repository.listUsers(req.principal!.tenant);
    return { items: users.map((u) => ({ username: u.username, role: u.role, locked: u.lockedUntil > deps.now(), createdAt: new Date(u.createdAt).toISOString() })) };
  });

  app.post("/api/v1/users", { onRequest: admin }, async (req, reply) => {
    const body = parseOr400(newUserBody, req.body, "body", reply);
    if (!body) return reply;
    const result = await deps.accounts.createUser(req.principal!.tenant, body.username, body.password, body.role);
    if (!result.ok && result.reason === "weak-password") {
      return reply.code(400).send({ error: "invalid body", issues: result.problems.map((message) => ({ field: "password", message })) });
    }
    if (!result.ok) return reply.code(409).send({ error: `user ${body.username} already exists` });
    return reply.code(201).send({ username: result.user.username, role: result.user.role, tenant: result.user.tenant });
  });
}
