import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  /** A kubectl within one minor version of the API server. */
  kubectl: string;
}

const here = dirname(fileURLToPath(import.meta.url));
export const buildScript = join(here, "build-binaries.sh");

/** The Kubernetes version build-binaries.sh builds (from versions.env, unless K8S_VERSION overrides it). */
export const pinnedKubernetesVersion =
  process.env.K8S_VERSION ?? /^K8S_VERSION=(\S+)/m.exec(readFileSync(join(here, "versions.env"), "utf8"))![1]!;

/** True when the binaries come from KUBEBUILDER_ASSETS or TEST_ASSET_* rather than our own build. */
export const usingExternalBinaries = () => Boolean(fromEnvironment());
export const howToGetBinaries =
  "build them with `bash test/controlplane/build-binaries.sh` (needs Go; the first build takes several minutes), " +
  "or point KUBEBUILDER_ASSETS at a directory with etcd, kube-apiserver and kube-controller-manager";

function fromDir(dir: string): ControlPlaneBinaries {
  return {
    etcd: join(dir, "etcd"),
    kubeApiserver: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubectl: existsSync(join(dir, "kubectl")) ? join(dir, "kubectl") : "kubectl",
  };
}

/** Binaries named by the envtest variables, if any are set. */
function fromEnvironment(): ControlPlaneBinaries | undefined {
  const env = process.env;
  if (env.TEST_ASSET_KUBE_APISERVER && env.TEST_ASSET_ETCD && env.TEST_ASSET_KUBE_CONTROLLER_MANAGER) {
    return {
      etcd: env.TEST_ASSET_ETCD,
      kubeApiserver: env.TEST_ASSET_KUBE_APISERVER,
      kubeControllerManager: env.TEST_ASSET_KUBE_CONTROLLER_MANAGER,
      kubectl: env.TEST_ASSET_KUBECTL ?? "kubectl",
    };
  }
  if (env.KUBEBUILDER_ASSETS) return fromDir(env.KUBEBUILDER_ASSETS);
  return undefined;
}

/**
 * Finds the control plane binaries, building them from Go modules when needed (cached, so later calls are instant).
 * With `build: false` it only looks, and returns undefined when they are not there yet.
 */
export async function controlPlaneBinaries(opts: { build: boolean; onProgress?: (line: string) => void }): Promise<ControlPlaneBinaries | undefined> {
  const env = fromEnvironment();
  if (env) return env;
  if (!opts.build) {
    const probe = spawnSync("bash", [buildScript, "--print-cache-dir"], { encoding: "utf8" });
    const dir = probe.stdout.trim();
    return dir && existsSync(join(dir, "kube-apiserver")) && existsSync(join(dir, "etcd")) ? fromDir(dir) : undefined;
  }
  const dir = await new Promise<string>((resolve, reject) => {
    const child = spawn("bash", [buildScript], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split("\n")) if (line.startsWith("[control-plane")) opts.onProgress?.(line);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve(out.trim().split("\n").pop() ?? "");
      else reject(new Error(`building the control plane failed (exit ${code}):\n${err.split("\n").slice(-20).join("\n")}`));
    });
  });
  return dir === "env" ? fromEnvironment() : fromDir(dir);
}
