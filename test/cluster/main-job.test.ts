// The README's run command: everything it promises, and nothing left running after Ctrl-C.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it, vi } from "vitest";
import { describeCluster, kubectl } from "../support/cluster.ts";

const processesUsing = (dir: string): number[] => {
  try {
    return execFileSync("pgrep", ["-f", dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** scripts/run.ts with `args`, once its output shows `line`; `output()` is all it printed so far. */
async function startRun(args: string[], line: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, "../../scripts/run.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  await vi.waitFor(() => {
    if (child.exitCode !== null) throw new Error(`exited early (${child.exitCode}):\n${out}`);
    if (!out.includes(line)) throw new Error("still starting");
  }, { timeout: 150_000, interval: 100 });
  return { child, output: () => out };
}

describeCluster("make run (scripts/run.ts)", () => {
  it("runs the operator, the rendered detector and an attack on its own control plane, and stops everything on Ctrl-C", async () => {
    const { child, output } = await startRun([], "Press Ctrl-C");
    const out = output();

    expect(out).toMatch(/^basic\s+True\s+True\s+1\/1\s+AllComponentsReady\s+\S+\s+http:\/\/basic-detector\.minixdr-demo\.svc:8080/m);
    expect(out).toMatch(/Ready=True \(AllComponentsReady\)/);
    expect(out).toMatch(/Reconciled=True \(ReconcileSucceeded\): every child matches generation 1/);
    expect(out).toMatch(/203\.0\.113\.7 T1110\.001 Brute Force: Password Guessing \(Credential Access\) \[open\]/);
    const detector = /Detector API:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    expect((await fetch(`${detector}/readyz`)).status).toBe(200);
    const consoleUrl = /Console:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    expect((await fetch(`${consoleUrl}/healthz`)).status).toBe(200);
    const controlPlaneDir = /KUBECONFIG:\s+(\S+)\/admin\.kubeconfig/.exec(out)![1]!;
    const workDir = /Files:\s+(\S+)/.exec(out)![1]!;
    expect(processesUsing(controlPlaneDir).length).toBeGreaterThanOrEqual(3);

    // A spec change rolls the detector: the run restarts its local detector with the new config and reports the new
    // pod Ready, so the instance is Ready again at the new generation (it stayed Pending, not Ready, before).
    const onRun = async (args: string[]) => (await kubectl(args, { kubeconfig: `${controlPlaneDir}/admin.kubeconfig` })).stdout;
    await onRun(["patch", "minixdr", "basic", "-n", "minixdr-demo", "--type=merge", "-p", '{"spec":{"detector":{"config":{"detection":{"bruteForceThreshold":9}}}}}']);
    await vi.waitFor(() => expect(output()).toContain("restarting the local detector with the config the operator rendered for it"), { timeout: 60_000, interval: 200 });
    await vi.waitFor(async () => {
      const status = JSON.parse(await onRun(["get", "minixdr", "basic", "-n", "minixdr-demo", "-o", "json"])) as { metadata: { generation: number }; status: { observedGeneration: number; conditions: { type: string; status: string }[] } };
      expect(status.metadata.generation).toBe(2);
      expect(status.status.observedGeneration).toBe(2);
      expect(status.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    }, { timeout: 60_000, interval: 500 });
    expect((JSON.parse(readFileSync(join(workDir, "detector.json"), "utf8")) as { detection: { bruteForce: { threshold: number } } }).detection.bruteForce.threshold).toBe(9);
    expect((await fetch(`${detector}/readyz`)).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(processesUsing(controlPlaneDir)).toEqual([]);
    expect(processesUsing(workDir)).toEqual([]);
    await expect(fetch(`${detector}/healthz`)).rejects.toThrow();
    expect(existsSync(workDir)).toBe(false);
  }, 200_000);

  it("stops everything it started so far on a Ctrl-C before the summary, a second one included", async () => {
    // Interrupted once the detector is starting: the control plane, the operator and the detector are running.
    const { child, output } = await startRun(["--once"], "[run] starting the detector");
    const out = output();
    const workDir = /files of this run .* in (\S+)/.exec(out)![1]!;
    const controlPlaneDir = /kubeconfig (\S+)\/admin\.kubeconfig/.exec(out)![1]!;
    expect(processesUsing(controlPlaneDir).length).toBeGreaterThanOrEqual(3);

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    await vi.waitFor(() => expect(output()).toContain("stopping everything this started"), { timeout: 5_000, interval: 20 });
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(output()).toContain("still stopping");
    expect(output()).not.toContain("Press Ctrl-C");
    expect(processesUsing(controlPlaneDir)).toEqual([]);
    expect(processesUsing(workDir)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect(existsSync(controlPlaneDir)).toBe(false);
  }, 200_000);

  it("exits 1, not 130, when it fails on its own (no signal), and removes its files", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const kubeconfig = join(mkdtempSync(join(tmpdir(), "minixdr-bad-kubeconfig-")), "config");
    writeFileSync(kubeconfig, "not a kubeconfig\n");
    const child = spawn(process.execPath, [join(import.meta.dirname, "../../scripts/run.ts"), "--kubeconfig", kubeconfig, "--once"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(out).toContain("[run] failed:");
    expect(code).toBe(1);
    const workDir = /files of this run .* in (\S+)/.exec(out)![1]!;
    expect(existsSync(workDir)).toBe(false);
  }, 60_000);

  it("removes the control plane's directory too on a Ctrl-C while the control plane starts", async () => {
    const { mkdtempSync, readdirSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    // Its own TMPDIR: whatever the run creates there must be gone after it.
    const tmp = mkdtempSync(join(tmpdir(), "minixdr-run-tmp-"));
    const child = spawn(process.execPath, [join(import.meta.dirname, "../../scripts/run.ts"), "--once"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: tmp } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    await vi.waitFor(() => {
      if (child.exitCode !== null) throw new Error(`exited early (${child.exitCode}):\n${out}`);
      if (!out.includes("starting kube-apiserver")) throw new Error("still starting");
    }, { timeout: 150_000, interval: 20 });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(processesUsing(tmp)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  }, 200_000);
});
