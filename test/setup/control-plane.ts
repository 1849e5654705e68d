// vitest global setup of the cluster project: one real control plane per run, shared by every test file.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { controlPlaneBinaries, howToGetBinaries } from "../controlplane/binaries.ts";
import { ControlPlane } from "../controlplane/controlplane.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Empty when the control plane runs; otherwise why cluster tests skip (never under CI=true). */
    clusterUnavailable: string;
    kubeconfig: string;
    controlPlaneDir: string;
    controlPlaneVersion: string;
    auditLog: string;
    kubectl: string;
  }
}

const log = (line: string) => console.error(line.startsWith("[") ? line : `[control-plane] ${line}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ci = process.env.CI === "true";
  const goAvailable = spawnSync("go", ["version"]).status === 0;
  let binaries = await controlPlaneBinaries({ build: false });
  if (!binaries && (goAvailable || ci)) binaries = await controlPlaneBinaries({ build: true, onProgress: log });
  if (!binaries) {
    const reason = `cluster tests skipped: no control plane binaries and no Go toolchain; ${howToGetBinaries}`;
    log(reason);
    for (const [k, v] of Object.entries({ clusterUnavailable: reason, kubeconfig: "", controlPlaneDir: "", controlPlaneVersion: "", auditLog: "", kubectl: "" })) {
      project.provide(k as "kubeconfig", v);
    }
    return async () => {};
  }
  // Under CI a start failure throws here, which fails the run: cluster tests never skip in CI.
  const cp = await ControlPlane.start({
    binaries, log, keepData: process.env.KEEP_CONTROL_PLANE === "1",
    crdFiles: [join(import.meta.dirname, "../../crds/xdr.minixdr.io_minixdrs.yaml")],
  });
  project.provide("clusterUnavailable", "");
  project.provide("kubeconfig", cp.kubeconfigPath);
  project.provide("controlPlaneDir", cp.dir);
  project.provide("controlPlaneVersion", cp.version);
  project.provide("auditLog", cp.auditLogPath());
  project.provide("kubectl", binaries.kubectl);
  return () => cp.stop();
}
