// /healthz and /readyz as a plugin, through app.inject(): each reason to be unready is named, and liveness never
// depends on them (a kubelet restarting a detector whose database is down would not bring the database back).
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteRepository } from "../store/sqliteRepository.ts";
import { healthRoutes, type ModelState } from "./healthRoutes.ts";

interface State {
  model: ModelState;
  storeUnavailable?: string;
  shuttingDown: boolean;
}

let app: FastifyInstance | undefined;
let repository: SqliteRepository | undefined;
afterEach(async () => {
  await app?.close();
  await repository?.close().catch(() => undefined);
  app = repository = undefined;
});

async function serve(state: State): Promise<FastifyInstance> {
  repository = new SqliteRepository(":memory:");
  await repository.migrate();
  const repo = repository;
  app = Fastify();
  await app.register(healthRoutes, { repository: repo, model: () => state.model, storeUnavailable: () => state.storeUnavailable, shuttingDown: () => state.shuttingDown });
  return app;
}

const probe = async (a: FastifyInstance, path: "/healthz" | "/readyz") => {
  const r = await a.inject({ method: "GET", url: path });
  return { status: r.statusCode, body: r.json<{ status: string; problems?: string[]; checks?: { database: { driver: string; status: string }; model: ModelState } }>() };
};

describe("readiness", () => {
  it("is ready when the database answers and the model is loaded, and says what it checked", async () => {
    const a = await serve({ model: { status: "loaded", version: "v7" }, shuttingDown: false });
    expect(await probe(a, "/readyz")).toEqual({
      status: 200,
      body: { status: "ready", problems: [], checks: { database: { driver: "sqlite", status: "ok" }, model: { status: "loaded", version: "v7" } } },
    });
  });

  it("names every reason it is not ready at once, while staying alive", async () => {
    const state: State = { model: { status: "failed", error: "cannot load anomaly model /m.onnx" }, storeUnavailable: "schema not migrated yet", shuttingDown: true };
    const a = await serve(state);
    const r = await probe(a, "/readyz");
    expect(r.status).toBe(503);
    expect(r.body.problems).toEqual([
      "database (sqlite): schema not migrated yet",
      "model: cannot load anomaly model /m.onnx",
      "shutting down",
    ]);
    expect(await probe(a, "/healthz")).toEqual({ status: 200, body: { status: "alive" } });
    // Each clears on its own: the store migrated, the drain not started, the model off (rules only) is not a problem.
    Object.assign(state, { storeUnavailable: undefined, shuttingDown: false, model: { status: "disabled" } });
    expect((await probe(a, "/readyz")).status).toBe(200);
  });

  it("is not ready when the database stops answering", async () => {
    const a = await serve({ model: { status: "disabled" }, shuttingDown: false });
    await repository!.close();
    const r = await probe(a, "/readyz");
    expect(r.status).toBe(503);
    expect(r.body.problems).toEqual([expect.stringMatching(/^database \(sqlite\): \S/) as string]);
  });
});
