// Parses a request part with zod and answers 400 naming each bad field.
import type { FastifyReply } from "fastify";
import type { z } from "zod";

export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, part: "query" | "body" | "params", reply: FastifyReply): z.infer<T> | undefined {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  send400(reply, part, result.error.issues.map((i) => ({
    field: i.code === "unrecognized_keys" ? i.keys.join(", ") : i.path.map(String).join(".") || `(${part})`,
    message: i.code === "unrecognized_keys" ? "unknown field" : i.message,
  })));
  return undefined;
}

/** Answers 400 naming each bad field of a request part, as `parseOr400` does (for checks a schema cannot make). */
export function send400(reply: FastifyReply, part: "query" | "body" | "params", issues: { field: string; message: string }[]): FastifyReply {
  return reply.code(400).send({ error: `invalid ${part}`, issues });
}
