// Starts a local control plane and keeps it running until Ctrl-C: `npm run controlplane`.
import { controlPlaneBinaries } from "./binaries.ts";
import { ControlPlane } from "./controlplane.ts";

const log = (line: string) => console.error(line.startsWith("[") ? line : `[control-plane] ${line}`);

const binaries = await controlPlaneBinaries({ build: true, onProgress: log });
const cp = await ControlPlane.start({ binaries, log });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping etcd, kube-apiserver and kube-controller-manager`);
  await cp.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

console.log(`
Control plane ${cp.version} is running at ${cp.server}
  export KUBECONFIG=${cp.kubeconfigPath}
  ${binaries!.kubectl} get --raw /version
Logs and data directory: ${cp.dir}
Press Ctrl-C to stop it.`);
setInterval(() => {
  if (!cp.running && !stopping) {
    log("a control plane process exited; stopping");
    void shutdown("exit");
  }
}, 2_000);
