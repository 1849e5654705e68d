// Security headers on every console response, framework errors included: scripts and styles only from this origin, never framed, no referrer.
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const securityHeaders: Record<string, string> = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
};

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook("onSend", async (_req, reply) => {
    void reply.headers(securityHeaders);
    await Promise.resolve();
  });
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot decode (`/%`, `%E0%A4%A`), a parameter too long. Fastify answers these
 * before routing, so without this they skip the onSend hook and go out with no security headers at all.
 */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const statusCode = err.statusCode ?? 400;
  void reply.code(statusCode).headers(securityHeaders).send({ error: STATUS_CODES[statusCode] ?? "Bad Request", code: err.code, message: err.message, statusCode });
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refused (headers too large, malformed), answered on the
 * raw socket as fastify's own handler does, with the security headers too.
 */
export function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const statusCode = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  const status = STATUS_CODES[statusCode] ?? "Bad Request";
  const body = JSON.stringify({ error: status, statusCode });
  const headers = Object.entries({ ...securityHeaders, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), connection: "close" })
    .map(([name, value]) => `${name}: ${value}\r\n`).join("");
  if (socket.writable) socket.write(`HTTP/1.1 ${statusCode} ${status}\r\n${headers}\r\n${body}`);
  socket.destroy(err);
}
