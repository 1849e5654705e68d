// The README's run command: everything it promises, and nothing left running after Ctrl-C.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expect, it, vi } from "vitest";
import { describeCluster } from "../support/cluster.ts";

const processesUsing = (dir: string): number[] => {
  try {
    return execFileSync("pgrep", ["-f", dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describeCluster("make run (scripts/run.ts)", () => {
  it("runs the operator, the rendered detector and an attack on its own control plane, and stops everything on Ctrl-C", async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "../../scripts/run.ts")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    await vi.waitFor(() => {
      if (child.exitCode !== null) throw new Error(`exited early (${child.exitCode}):\n${out}`);
      if (!out.includes("Press Ctrl-C")) throw new Error("still starting");
    }, { timeout: 150_000, interval: 250 });

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

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(processesUsing(controlPlaneDir)).toEqual([]);
    expect(processesUsing(workDir)).toEqual([]);
    await expect(fetch(`${detector}/healthz`)).rejects.toThrow();
    expect(existsSync(workDir)).toBe(false);
  }, 200_000);

  it("stops everything it started so far on a Ctrl-C before the summary, a second one included", async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "../../scripts/run.ts"), "--once"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    // Interrupted once the detector is starting: the control plane, the operator and the detector are running.
    await vi.waitFor(() => {
      if (child.exitCode !== null) throw new Error(`exited early (${child.exitCode}):\n${out}`);
      if (!out.includes("[run] starting the detector")) throw new Error("still starting");
    }, { timeout: 150_000, interval: 100 });
    const workDir = /files of this run .* in (\S+)/.exec(out)![1]!;
    const controlPlaneDir = /kubeconfig (\S+)\/admin\.kubeconfig/.exec(out)![1]!;
    expect(processesUsing(controlPlaneDir).length).toBeGreaterThanOrEqual(3);

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    await vi.waitFor(() => expect(out).toContain("stopping everything this started"), { timeout: 5_000, interval: 20 });
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(out).toContain("still stopping");
    expect(out).not.toContain("Press Ctrl-C");
    expect(processesUsing(controlPlaneDir)).toEqual([]);
    expect(processesUsing(workDir)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect(existsSync(controlPlaneDir)).toBe(false);
  }, 200_000);
});
