// Same-origin proxy to the detector API: only the routes the console uses, the caller's bearer token passed through, nothing else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { usernamePattern } from "../detector/auth/user.ts";

export interface ApiProxyOptions {
  detectorUrl: string;
  /** How long the detector gets to answer one request. */
  timeoutMs?: number;
}

/** Largest request body forwarded (logins and status changes are tiny). */
export const proxyBodyLimitBytes = 16 * 1024;
const defaultTimeoutMs = 15_000;
// An incident id is one path segment: no slash, no dot, so `..` cannot climb to another detector route.
const incidentId = /^[A-Za-z0-9-]{1,64}$/;
const passedBackHeaders = ["content-type", "retry-after", "www-authenticate", "etag"];

function queryOf(url: string): string {
  const i = url.indexOf("?");
  return i < 0 ? "" : url.slice(i);
}

export function registerApiProxy(app: FastifyInstance, options: ApiProxyOptions): void {
  const base = options.detectorUrl.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;

  const forward = async (req: FastifyRequest, reply: FastifyReply, path: string): Promise<FastifyReply> => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    // An incident's version, so a status change made against an older one is refused (412), not applied over a newer.
    if (typeof req.headers["if-match"] === "string") headers["if-match"] = req.headers["if-match"];
    // A body only when one came: a DELETE has none, and an empty JSON body is a 400 at the detector.
    const hasBody = typeof req.body === "string";
    if (hasBody) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${base}${path}${queryOf(req.url)}`, {
        method: req.method,
        headers,
        ...(hasBody ? { body: req.body as string } : {}),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === "TimeoutError";
      req.log.warn({ err, path }, "detector API did not answer");
      return reply.code(timedOut ? 504 : 502).send({ error: timedOut ? `the detector did not answer within ${timeoutMs / 1000} s` : "the detector is unreachable; try again shortly" });
    }
    for (const name of passedBackHeaders) {
      const value = res.headers.get(name);
      if (value !== null) void reply.header(name, value);
    }
    return reply.code(res.status).header("cache-control", "no-store").send(Buffer.from(await res.arrayBuffer()));
  };

  void app.register((scope, _opts, done) => {
    // Bodies go to the detector untouched: read JSON as text, and let the detector validate it.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("application/json", { parseAs: "string", bodyLimit: proxyBodyLimitBytes }, (_req, body, parsed) => parsed(null, body));

    scope.post("/api/v1/auth/login", (req, reply) => forward(req, reply, "/api/v1/auth/login"));
    scope.post("/api/v1/auth/logout", (req, reply) => forward(req, reply, "/api/v1/auth/logout"));
    scope.get("/api/v1/me", (req, reply) => forward(req, reply, "/api/v1/me"));
    scope.put("/api/v1/me/password", (req, reply) => forward(req, reply, "/api/v1/me/password"));
    // User administration (the detector lets only admins through).
    scope.get("/api/v1/users", (req, reply) => forward(req, reply, "/api/v1/users"));
    scope.post("/api/v1/users", (req, reply) => forward(req, reply, "/api/v1/users"));
    const user = (suffix: string) => (req: FastifyRequest<{ Params: { username: string } }>, reply: FastifyReply) => {
      const { username } = req.params;
      if (!usernamePattern.test(username)) return reply.code(400).send({ error: "invalid username" });
      return forward(req, reply, `/api/v1/users/${encodeURIComponent(username)}${suffix}`);
    };
    scope.put("/api/v1/users/:username/password", user("/password"));
    scope.delete("/api/v1/users/:username", user(""));
    scope.get("/api/v1/incidents", (req, reply) => forward(req, reply, "/api/v1/incidents"));
    const one = (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      const { id } = req.params;
      if (!incidentId.test(id)) return reply.code(400).send({ error: "invalid incident id" });
      return forward(req, reply, `/api/v1/incidents/${id}`);
    };
    scope.get("/api/v1/incidents/:id", one);
    scope.patch("/api/v1/incidents/:id", one);
    // Anything else under /api (ingest, say) is not the console's business.
    scope.all("/api/*", (_req, reply) => reply.code(404).send({ error: "not an API route the console serves" }));
    done();
  });
}
