import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, loggerFor } from "./logger.ts";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let out = "";
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { out += chunk.toString(); cb(); } });
  return { stream, lines: () => out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("logger", () => {
  it("writes JSON lines with a level name, an ISO time and the reconcile's key, namespace, name and generation", () => {
    const out = capture();
    const root = createLogger({ level: "debug", destination: out.stream });
    loggerFor("team-a/xdr", 3, root).info({ child: "Deployment" }, "applied");
    loggerFor("cluster-thing", undefined, root).debug("noted");
    const [first, second] = out.lines();
    expect(first).toMatchObject({ level: "info", msg: "applied", key: "team-a/xdr", namespace: "team-a", name: "xdr", generation: 3, child: "Deployment", component: "minixdr-operator" });
    expect(new Date(first!.time as string).toISOString()).toBe(first!.time);
    expect(second).toMatchObject({ level: "debug", key: "cluster-thing", name: "cluster-thing" });
    expect(second).not.toHaveProperty("generation");
  });

  it("drops lines below its level and uses the latest created logger as the default parent", () => {
    const out = capture();
    createLogger({ level: "warn", destination: out.stream });
    const log = loggerFor("ns/obj", 1);
    log.info("hidden");
    log.warn("shown");
    expect(out.lines().map((l) => l.msg)).toEqual(["shown"]);
  });
});
