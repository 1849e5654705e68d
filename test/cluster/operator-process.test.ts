// The operator as users run it: `minixdr operator` in its own process, configured by flags.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { stringify } from "yaml";
import { freePort } from "../controlplane/processes.ts";
import { adminKubeConfig, describeCluster, useNamespace } from "../support/cluster.ts";
import { installMiniXdrCrd, operatorKubeconfig } from "../support/operator.ts";
import { applyMiniXdr, condition, waitForStatus } from "../support/minixdr.ts";

const root = join(import.meta.dirname, "../..");
const cli = join(root, "bin/minixdr.ts");

describeCluster("minixdr operator process", () => {
  const ns = useNamespace("process");
  const dir = mkdtempSync(join(tmpdir(), "operator-process-"));
  let kubeconfig = "";
  let child: ChildProcess | undefined;
  let output = "";
  let port = 0;

  beforeAll(async () => {
    await installMiniXdrCrd();
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, stringify(await operatorKubeconfig(ns.name)));
    port = await freePort();
  });
  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a bad flag at start-up, naming the flag, its variable and what is allowed", () => {
    const run = spawnSync(process.execPath, [cli, "operator", "--concurrency", "lots"], { encoding: "utf8", env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 20_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--concurrency/);
    expect(run.stderr).toMatch(/MINIXDR_CONCURRENCY/);
    expect(run.stderr).toMatch(/whole number/);
  });

  it("says which setting to change when its metrics port is taken, and exits", async () => {
    const { createServer } = await import("node:net");
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    try {
      const busy = (taken.address() as { port: number }).port;
      const run = spawnSync(process.execPath, [cli, "operator", "--metrics-port", String(busy), "--bind-address", "127.0.0.1", "--leader-elect=false", "--watch-namespace", ns.name],
        { encoding: "utf8", env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 30_000 });
      expect(run.status).toBe(2);
      expect(run.stdout).toMatch(new RegExp(`cannot serve metrics and probes on 127\\.0\\.0\\.1:${busy} \\(EADDRINUSE\\); set --metrics-port`));
    } finally {
      taken.close();
    }
  });

  it("serves health, readiness and metrics, reconciles, and releases its lease on SIGTERM", async () => {
    child = spawn(process.execPath, [cli, "operator", "--metrics-port", String(port), "--bind-address", "127.0.0.1", "--leader-elect",
      "--lease-namespace", ns.name, "--lease-name", "minixdr-operator", "--leader-identity", "process-under-test", "--watch-namespace", ns.name],
    { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), { timeout: 30_000, interval: 250 });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await applyMiniXdr({ apiVersion: "xdr.minixdr.io/v1alpha1", kind: "MiniXdr", metadata: { name: "proc", namespace: ns.name }, spec: {} });
    await waitForStatus(ns.name, "proc", (c) => condition(c, "Progressing")?.status === "True");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^minixdr_reconcile_total\{result="success"\} [1-9]/m);
    expect(metrics).toMatch(/^minixdr_reconcile_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^minixdr_api_requests_total\{verb="patch",resource="deployments"\} [1-9]/m);
    expect(metrics).toMatch(/^minixdr_api_requests_total\{verb="watch",resource="minixdrs"\} [1-9]/m);
    expect(metrics).toMatch(/^minixdr_workqueue_depth 0/m);
    expect(metrics).toMatch(/^minixdr_leader 1/m);
    expect(metrics).toMatch(new RegExp(`^minixdr_instance_condition\\{namespace="${ns.name}",name="proc",type="Ready",status="False"\\} 1`, "m"));
    // Logs are JSON lines that carry the object's key and generation.
    const logLine = output.split("\n").map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return undefined; } })
      .find((l) => l?.key === `${ns.name}/proc`);
    expect(logLine).toMatchObject({ key: `${ns.name}/proc`, generation: 1 });

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const lease = await adminKubeConfig().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace: ns.name, name: "minixdr-operator" });
    expect(lease.spec?.holderIdentity ?? "").toBe("");
  }, 60_000);
});
