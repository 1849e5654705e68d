// /healthz: the process answers. /readyz: the database answers and the anomaly model is loaded.
import type { FastifyPluginCallback } from "fastify";
import type { Repository } from "../store/repository.ts";

export type ModelState = { status: "loaded"; version: string } | { status: "failed"; error: string } | { status: "disabled" };

export interface Readiness {
  repository: Repository;
  model: () => ModelState;
  /** Undefined once the schema is in place; otherwise the last error migrating it. */
  storeUnavailable: () => string | undefined;
  shuttingDown: () => boolean;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref())]);

/** A fastify plugin: `app.register(healthRoutes, readiness)`. */
export const healthRoutes: FastifyPluginCallback<Readiness> = (app, r, done) => {
  app.get("/healthz", (_req, reply) => reply.send({ status: "alive" }));

  app.get("/readyz", async (_req, reply) => {
    const problems: string[] = [];
    let database = "ok";
    try {
      const unavailable = r.storeUnavailable();
      if (unavailable) throw new Error(unavailable);
      await withTimeout(r.repository.ping(), 2000, "database");
    } catch (err) {
      database = (err as Error).message;
      problems.push(`database (${r.repository.driver}): ${database}`);
    }
    const model = r.model();
    if (model.status === "failed") problems.push(`model: ${model.error}`);
    if (r.shuttingDown()) problems.push("shutting down");
    const checks = { database: { driver: r.repository.driver, status: database }, model };
    return reply.code(problems.length ? 503 : 200).send({ status: problems.length ? "not ready" : "ready", problems, checks });
  });
  done();
};
