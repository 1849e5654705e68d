// Request authentication: JWT bearer tokens for the API (with a least role per route), ingest tokens for ingest.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { InvalidTokenError, type ApiTokens, type Principal } from "../auth/apiTokens.ts";
import { roleAtLeast, type Role } from "../auth/user.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The API user, set by `requireRole`. */
    principal?: Principal;
    /** The tenant whose ingest token the request carried, set by `requireIngestToken`. */
    ingestTenant?: string;
  }
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

function refuse(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).header("www-authenticate", 'Bearer realm="minixdr"').send({ error: message });
}

export function requireRole(tokens: ApiTokens, role: Role) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = bearer(req);
    if (!token) return void refuse(reply, "missing bearer token");
    try {
      req.principal = await tokens.verify(token);
    } catch (err) {
      if (err instanceof InvalidTokenError) return void refuse(reply, err.message);
      throw err;
    }
    if (!roleAtLeast(req.principal.role, role)) {
      return void reply.code(403).send({ error: `this needs role ${role}; ${req.principal.username} is ${req.principal.role}` });
    }
  };
}

const digest = (s: string) => createHash("sha256").update(s).digest();

export function requireIngestToken(tokens: Map<string, string>, onRefused: (req: FastifyRequest) => void) {
  const known = [...tokens].map(([token, tenant]) => ({ digest: digest(token), tenant }));
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = bearer(req);
    // Compare digests in constant time, against every token, so timing tells nothing about any of them.
    let tenant: string | undefined;
    if (token) {
      const presented = digest(token);
      for (const k of known) if (timingSafeEqual(k.digest, presented)) tenant = k.tenant;
    }
    if (!tenant) {
      onRefused(req);
      return void refuse(reply, token ? "invalid ingest token" : "missing ingest token");
    }
    req.ingestTenant = tenant;
    await Promise.resolve();
  };
}
