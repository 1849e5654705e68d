// Request authentication: JWT bearer tokens for the API (with a least role per route), ingest tokens for ingest.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { InvalidTokenError, type ApiTokens, type Principal } from "../auth/apiTokens.ts";
import { roleAtLeast, type Role, type UserRecord } from "../auth/user.ts";

/** How `requireRole` checks a token: its signature and claims, then the user it names, as stored now. */
export interface ApiAuth {
  tokens: ApiTokens;
  findUser(tenant: string, username: string): Promise<UserRecord | undefined>;
  /** The configured tenants: a token of a tenant removed from the config is refused (its data stays in the store). */
  tenants: readonly string[];
}

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

/**
 * Every refusal in these onRequest hooks returns the reply: an async hook that sends and resolves to nothing lets
 * fastify go on to the route's handler (it did: a viewer's DELETE reached the handler after its 403 was sent).
 */
function refuse(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).header("www-authenticate", 'Bearer realm="minixdr"').send({ error: message });
}

/**
 * A valid token of a user who still exists, issued since their last password change; the role is the user's as
 * stored now (so a token outlives neither its user nor a password change).
 */
export function requireRole(auth: ApiAuth, role: Role) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = bearer(req);
    if (!token) return refuse(reply, "missing bearer token");
    let verified;
    try {
      verified = await auth.tokens.verify(token);
    } catch (err) {
      if (err instanceof InvalidTokenError) return refuse(reply, err.message);
      throw err;
    }
    if (!auth.tenants.includes(verified.tenant)) return refuse(reply, `token refused: tenant ${verified.tenant} is not served by this detector`);
    const user = await auth.findUser(verified.tenant, verified.username);
    if (!user) return refuse(reply, "token refused: the user no longer exists");
    if (verified.userCreatedAt !== undefined && verified.userCreatedAt !== user.createdAt) return refuse(reply, "token refused: it was issued to an earlier user of that name");
    if (user.credentialsVersion !== verified.credentialsVersion) return refuse(reply, "token refused: the user signed out or the password was changed since it was issued; sign in again");
    req.principal = { tenant: user.tenant, username: user.username, role: user.role };
    if (!roleAtLeast(req.principal.role, role)) {
      return reply.code(403).send({ error: `this needs role ${role}; ${req.principal.username} is ${req.principal.role}` });
    }
    return undefined;
  };
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** The ingest tokens (token -> tenant), kept as digests; `replace` takes a rotated Secret's tokens. */
export class IngestTokenSet {
  private known: { digest: Buffer; tenant: string }[] = [];
  private signature = "";

  constructor(tokens: ReadonlyMap<string, string>) {
    this.replace(tokens);
  }

  /** Uses these tokens from now on; false when they are the ones in use. */
  replace(tokens: ReadonlyMap<string, string>): boolean {
    const known = [...tokens].map(([token, tenant]) => ({ digest: digest(token), tenant }));
    const signature = known.map((k) => `${k.digest.toString("hex")}:${k.tenant}`).sort().join(",");
    if (signature === this.signature) return false;
    this.known = known;
    this.signature = signature;
    return true;
  }

  /** The tenant of a presented token. Digests are compared in constant time, against every token, so timing tells nothing about any of them. */
  tenantOf(token: string | undefined): string | undefined {
    if (!token) return undefined;
    const presented = digest(token);
    let tenant: string | undefined;
    for (const k of this.known) if (timingSafeEqual(k.digest, presented)) tenant = k.tenant;
    return tenant;
  }
}

export function requireIngestToken(tokens: IngestTokenSet, onRefused: (req: FastifyRequest) => void) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = bearer(req);
    const tenant = tokens.tenantOf(token);
    if (!tenant) {
      onRefused(req);
      return refuse(reply, token ? "invalid ingest token" : "missing ingest token");
    }
    req.ingestTenant = tenant;
    await Promise.resolve();
    return undefined;
  };
}
