import { createServer, type Socket } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../kube/client.ts";
import { connectionFromKubeconfig } from "../kube/config.ts";
import { LeaderElector } from "./leader-election.ts";
import { kubeconfigFor } from "../../test/support/kubeconfig.ts";

describe("LeaderElector against an API server that accepts connections and never answers", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("gives up each attempt at its deadline with its request, so retries never pile up open connections", async () => {
    const open = new Set<Socket>();
    let peak = 0;
    const server = createServer((socket) => {
      open.add(socket);
      peak = Math.max(peak, open.size);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => undefined);
      // Read, so a client's close is seen (a paused socket never learns of it).
      socket.resume();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise<void>((r) => {
      for (const s of open) s.destroy();
      server.close(() => r());
    }));
    const port = (server.address() as { port: number }).port;
    const kubeconfig = kubeconfigFor(`https://127.0.0.1:${port}`);
    const failures: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void failures.push((JSON.parse(line) as { err?: { message?: string } }).err?.message ?? "") });
    // Not leading: each attempt may take two retry periods (200 ms) before it is given up.
    const elector = new LeaderElector(new KubeClient(connectionFromKubeconfig(kubeconfig, { source: "test" })), {
      namespace: "ns", name: "lease", identity: "a", leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 100, logger: log,
    });
    elector.start();
    cleanup.push(() => elector.stop());
    while (failures.length < 4) await new Promise((r) => setTimeout(r, 50));
    for (const message of failures.slice(0, 4)) expect(message).toMatch(/lease request took longer than 200 ms$/);
    // One attempt in flight at a time: each given-up request closed its connection.
    expect(peak).toBeLessThanOrEqual(2);
    await elector.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(open.size).toBe(0);
  });
});
