// The console server through fastify inject(): security headers, the app's files, health, readiness, and the API proxy to a real detector.
import { connect } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsoleApp } from "../../console/main.ts";
import { securityHeaders } from "../../console/securityHeaders.ts";
import { freePort } from "../controlplane/processes.ts";
import { adminPassword, api, bruteForceIp, quietLogger, startConsoleStack, viewer, type ConsoleStack } from "./consoleHarness.ts";

let stack: ConsoleStack;
let app: FastifyInstance;

beforeAll(async () => {
  stack = await startConsoleStack();
  app = await buildConsoleApp({ detectorUrl: stack.detector.url, logger: quietLogger() });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await stack?.stop();
});

/** Sends bytes as they are and reads the answer until the server closes the connection. */
function rawRequest(url: URL, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
    socket.on("error", (err) => (answer ? resolve(answer) : reject(err)));
    socket.on("close", () => resolve(answer));
    socket.end(request);
  });
}

const loginThroughConsole = async (username: string, password: string) => {
  const res = await app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username, password } });
  return { status: res.statusCode, token: (res.json<{ token?: string }>().token) ?? "" };
};

describe("pages and headers", () => {
  it("serves the page with a strict CSP and the other security headers", async () => {
    const res = await app.inject({ url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain(`<script type="module" src="/static/app.ts"></script>`);
    const csp = String(res.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    // No inline script anywhere in the page: the CSP would block it.
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.body).not.toMatch(/\son[a-z]+=/i);
  });

  it("serves the app's modules as JavaScript with the types stripped", async () => {
    const res = await app.inject({ url: "/static/app.ts" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(res.headers["content-security-policy"]).toBeDefined();
    expect(res.body).toContain(`from "./apiClient.ts"`);
    expect(res.body).not.toMatch(/import type|: Role\b|: void\b/);
    const css = await app.inject({ url: "/static/console.css" });
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
  });

  it("serves nothing outside the app's files", async () => {
    for (const url of ["/static/main.ts", "/static/..%2Fmain.ts", "/static/../main.ts", "/static/nope.js", "/console/main.ts"]) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
  });

  it("sends the security headers on errors and API answers too", async () => {
    for (const url of ["/nope", "/api/v1/incidents", "/healthz"]) {
      const res = await app.inject({ url });
      expect(res.headers["content-security-policy"], url).toContain("frame-ancestors 'none'");
      expect(res.headers["x-content-type-options"], url).toBe("nosniff");
    }
  });

  it("sends them on fastify's own refusals too: a URL it cannot decode, a request the HTTP parser refuses", async () => {
    // Answered before routing (FST_ERR_BAD_URL): these skipped the onSend hook and went out with Content-Type alone.
    for (const url of ["/%", "/api/v1/incidents/%E0%A4%A", "/static/%zz"]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ code: "FST_ERR_BAD_URL", statusCode: 400 });
      for (const [name, value] of Object.entries(securityHeaders)) expect(res.headers[name], `${url} ${name}`).toBe(value);
    }
    // Over a real connection, as a browser or curl sends it.
    const real = await fetch(`${stack.console.url}/api/v1/incidents/%E0%A4%A`);
    expect(real.status).toBe(400);
    expect(real.headers.get("content-security-policy")).toBe(securityHeaders["content-security-policy"]);
    expect(real.headers.get("x-frame-options")).toBe("DENY");
    // Headers beyond Node's limit are refused by its parser (431) before fastify sees a request.
    const raw = await rawRequest(new URL(stack.console.url), `GET / HTTP/1.1\r\nHost: console\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toContain(`content-security-policy: ${securityHeaders["content-security-policy"]}\r\n`);
    expect(raw).toContain("x-content-type-options: nosniff\r\n");
  });
});

describe("health and readiness", () => {
  it("is alive, and ready while the detector answers", async () => {
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    const ready = await app.inject({ url: "/readyz" });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(ready.json()).toMatchObject({ status: "ready" });
  });

  it("is not ready while the detector does not answer", async () => {
    const orphan = await buildConsoleApp({ detectorUrl: `http://127.0.0.1:${await freePort()}`, logger: quietLogger() });
    try {
      expect((await orphan.inject({ url: "/healthz" })).statusCode).toBe(200);
      const ready = await orphan.inject({ url: "/readyz" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json<{ problems: string[] }>().problems[0]).toContain("detector /healthz did not answer");
      // The proxy says the detector is unreachable rather than failing opaquely.
      const res = await orphan.inject({ url: "/api/v1/incidents", headers: { authorization: "Bearer x" } });
      expect(res.statusCode).toBe(502);
      expect(res.json()).toMatchObject({ error: expect.stringContaining("unreachable") });
    } finally {
      await orphan.close();
    }
  });
});

describe("API proxy", () => {
  it("logs in through the detector and passes its refusals back", async () => {
    const ok = await loginThroughConsole("admin", adminPassword);
    expect(ok.status).toBe(200);
    expect(ok.token.split(".")).toHaveLength(3);
    expect((await loginThroughConsole("admin", "wrong-password")).status).toBe(401);
    const invalid = await app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { username: "admin", password: "x", extra: 1 } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ issues: [{ field: "extra", message: "unknown field" }] });
  });

  it("forwards the bearer token and the list's query, and marks answers no-store", async () => {
    const missing = await app.inject({ url: "/api/v1/incidents" });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers["www-authenticate"]).toContain("Bearer");
    const all = await app.inject({ url: "/api/v1/incidents", headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(all.statusCode).toBe(200);
    expect(all.headers["cache-control"]).toBe("no-store");
    expect(all.json<{ total: number }>().total).toBe(2);
    const filtered = await app.inject({ url: "/api/v1/incidents?technique=T1110.001&status=open&limit=1&offset=0", headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(filtered.json()).toMatchObject({ total: 1, limit: 1, items: [{ sourceIp: bruteForceIp, techniques: [{ id: "T1110.001" }] }] });
    const bad = await app.inject({ url: "/api/v1/incidents?severity=extreme", headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ issues: [{ field: "severity" }] });
  });

  it("lets the detector refuse a viewer's status change", async () => {
    const { token } = await loginThroughConsole(viewer.username, viewer.password);
    const list = await app.inject({ url: "/api/v1/incidents", headers: { authorization: `Bearer ${token}` } });
    const id = list.json<{ items: { id: string }[] }>().items[0]!.id;
    const patch = await app.inject({ method: "PATCH", url: `/api/v1/incidents/${id}`, headers: { authorization: `Bearer ${token}` }, payload: { status: "resolved" } });
    expect(patch.statusCode).toBe(403);
    expect((await api(`${stack.detector.url}/api/v1/incidents/${id}`, stack.adminToken)).json.status).toBe("open");
  });

  it("forwards only the console's routes: no ingest, no climbing out of an id or a username", async () => {
    const auth = { authorization: `Bearer ${stack.adminToken}` };
    const before = await stack.detector.repository.countEvents("default");
    const ingest = await app.inject({ method: "POST", url: "/api/v1/ingest/cowrie", headers: { ...auth, "content-type": "application/json" }, payload: "[]" });
    expect(ingest.statusCode).toBe(404);
    // User administration is forwarded (the detector lets only admins through); a username is one plain path segment.
    expect((await app.inject({ url: "/api/v1/users", headers: auth })).statusCode).toBe(200);
    const users = (await stack.detector.repository.listUsers("default")).length;
    for (const name of ["..", "%2e%2e", "..%2F..%2Fincidents", "a%2Fb"]) {
      const res = await app.inject({ method: "DELETE", url: `/api/v1/users/${name}`, headers: auth });
      expect([400, 404], `${name}: ${res.statusCode}`).toContain(res.statusCode);
      expect(res.json<{ error: string }>().error, name).toMatch(/^(invalid username|not an API route the console serves)$/);
    }
    expect((await stack.detector.repository.listUsers("default")).length).toBe(users);
    expect((await app.inject({ method: "DELETE", url: "/api/v1/incidents", headers: auth })).statusCode).toBe(404);
    for (const id of ["..", "..%2F..%2Fusers", "a.b", "%2e%2e"]) {
      // A bare `..` is resolved before routing (404 from the catch-all); the others reach the id check (400).
      const res = await app.inject({ url: `/api/v1/incidents/${id}`, headers: auth });
      expect([400, 404], `${id}: ${res.statusCode}`).toContain(res.statusCode);
      expect(res.json<{ error: string }>().error, id).toMatch(/^(invalid incident id|not an API route the console serves)$/);
    }
    expect(await stack.detector.repository.countEvents("default")).toBe(before);
  });

  it("refuses bodies that are not JSON or too large before they reach the detector", async () => {
    const form = await app.inject({ method: "POST", url: "/api/v1/auth/login", headers: { "content-type": "application/x-www-form-urlencoded" }, payload: "username=admin" });
    expect(form.statusCode).toBe(415);
    const huge = await app.inject({ method: "POST", url: "/api/v1/auth/login", headers: { "content-type": "application/json" }, payload: JSON.stringify({ username: "admin", password: "x".repeat(64 * 1024) }) });
    expect(huge.statusCode).toBe(413);
  });
});
