import { createServer } from "node:net";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { KubeClient } from "../kube/client.ts";
import { connectionFromKubeconfig } from "../kube/config.ts";
import { resolvePodUserIds } from "./pod-user-ids.ts";
import { kubeconfigFor } from "../../test/support/kubeconfig.ts";

/** A client of an API server that is not there: a local port nothing listens on. */
async function unreachable(): Promise<{ client: KubeClient; requests: () => number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  let requests = 0;
  return { client: new KubeClient(connectionFromKubeconfig(kubeconfigFor(`https://127.0.0.1:${port}`), { source: "test" }), () => void requests++), requests: () => requests };
}

function recordingLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe("resolvePodUserIds", () => {
  it.each(["fixed", "platform"] as const)("takes --pod-user-ids=%s as it is, asking the API server nothing", async (setting) => {
    const { client, requests } = await unreachable();
    expect(await resolvePodUserIds(client, setting, pino({ level: "silent" }))).toBe(setting);
    expect(requests()).toBe(0);
  });

  it("auto: asks again while the API server does not answer, saying why no MiniXdr is reconciled, and stops when stopped", async () => {
    const { client, requests } = await unreachable();
    const { log, lines } = recordingLog();
    const stop = new AbortController();
    const resolving = resolvePodUserIds(client, "auto", log, { signal: stop.signal, retryMs: () => 20 });
    const outcome = resolving.then(() => "resolved", (err: Error) => err.message);
    while (requests() < 3) await new Promise((r) => setTimeout(r, 10));
    stop.abort(new Error("the operator is stopping"));
    expect(await outcome).toBe("the operator is stopping");
    expect(lines.filter((l) => l.level === 40).length).toBeGreaterThanOrEqual(2);
    expect(lines[0]!.msg).toMatch(/cannot tell whether the platform assigns pod user ids \(GET \/apis\/security\.openshift\.io\/v1 failed\); no MiniXdr is reconciled until it answers/);
  });
});
