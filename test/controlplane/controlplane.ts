import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { copyFile, readFile, mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { controlPlaneBinaries, howToGetBinaries, type ControlPlaneBinaries } from "./binaries.ts";
import { kubeconfigFor, TestPki, writeServiceAccountKeys } from "./pki.ts";
import { freePort, SupervisedProcess, waitUntil } from "./processes.ts";

const run = promisify(execFile);

export interface AuditWebhook {
  /** Where kube-apiserver POSTs audit.k8s.io/v1 EventList batches. */
  url: string;
  /** Sent as a Bearer token, for receivers that authenticate (the detector does). client-go sends it over https only. */
  token?: string;
  /** CA that signed the receiver's serving certificate, for an https url. */
  caFile?: string;
}

export interface ControlPlaneOptions {
  binaries?: ControlPlaneBinaries;
  auditWebhook?: AuditWebhook;
  /** Extra kube-controller-manager controllers beyond the defaults below. */
  extraControllers?: string[];
  /**
   * CRD manifests to install before kube-controller-manager starts, so its garbage collector knows them
   * from the first discovery (as in a cluster where the CRD predates every object of its kind).
   */
  crdFiles?: string[];
  /** Extra kube-apiserver flags, e.g. `--min-request-timeout=5` to make watches end early. */
  extraApiServerArgs?: string[];
  /** Keep the data directory after stop (for debugging). */
  keepData?: boolean;
  log?: (line: string) => void;
}

/** Controllers a cluster without nodes needs for the behaviour our tests rely on. */
export const defaultControllers = [
  "garbagecollector", "namespace", "deployment", "replicaset", "serviceaccount", "serviceaccount-token",
  // Releases the kubernetes.io/pvc-protection finalizer that admission puts on every claim.
  "pvc-protection",
];

/** The audit policy the detector's Kubernetes rules need, as shipped (config/audit/audit-policy.yaml). */
export const auditPolicyFile = join(import.meta.dirname, "../../config/audit/audit-policy.yaml");

interface RunningControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  binaries: ControlPlaneBinaries;
  version: string;
  pki: TestPki;
  processes: SupervisedProcess[];
  keepData: boolean;
}

export class ControlPlane {
  readonly dir: string;
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly binaries: ControlPlaneBinaries;
  readonly version: string;
  private readonly pki: TestPki;
  private readonly processes: SupervisedProcess[];
  private readonly keepData: boolean;

  private constructor(r: RunningControlPlane) {
    this.dir = r.dir;
    this.server = r.server;
    this.kubeconfigPath = r.kubeconfigPath;
    this.binaries = r.binaries;
    this.version = r.version;
    this.pki = r.pki;
    this.processes = r.processes;
    this.keepData = r.keepData;
  }

  /** The CA that signed the API server's certificate. */
  caFile(): string {
    return this.pki.ca.cert;
  }

  /** Path of the API server's audit log (JSON lines), for counting requests by user. */
  auditLogPath(): string {
    return join(this.dir, "audit.log");
  }

  /** A kubeconfig for a user authenticated by client certificate, with no rights unless RBAC grants them. */
  kubeconfigForUser(user: string, groups: string[] = []): Promise<string> {
    return writeUserKubeconfig(this.dir, this.server, user, groups);
  }

  get running(): boolean {
    return this.processes.every((p) => p.running);
  }

  async stop(): Promise<void> {
    for (const p of [...this.processes].reverse()) await p.stop();
    if (!this.keepData) await rm(this.dir, { recursive: true, force: true });
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const log = opts.log ?? (() => {});
    const binaries = opts.binaries ?? (await controlPlaneBinaries({ build: false }));
    if (!binaries) throw new Error(`control plane binaries not found: ${howToGetBinaries}`);
    const started = Date.now();
    const dir = await mkdtemp(join(tmpdir(), "minixdr-cp-"));
    const processes: SupervisedProcess[] = [];
    try {
      const pki = await TestPki.create(dir);
      const [serving, admin, controllerManager, sa] = await Promise.all([
        pki.serving("kube-apiserver"),
        pki.client("minixdr-admin", ["system:masters"]),
        // Its own identity, as in kubeadm's clusters: RBAC's bootstrap policy grants it and its controllers' ServiceAccounts.
        pki.client("system:kube-controller-manager"),
        writeServiceAccountKeys(dir),
      ]);
      const [etcdClient, etcdPeer, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);

      log(`starting etcd on 127.0.0.1:${etcdClient}`);
      const etcdUrl = `http://127.0.0.1:${etcdClient}`;
      const etcd = SupervisedProcess.start("etcd", binaries.etcd, [
        `--data-dir=${join(dir, "etcd")}`, `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`, "--unsafe-no-fsync", "--log-level=warn",
      ], join(dir, "etcd.log"));
      processes.push(etcd);
      await waitUntil("etcd", async () => (await (await fetch(`${etcdUrl}/health`)).json() as { health?: string }).health === "true", etcd, 30_000);

      const apiArgs = [
        `--etcd-servers=${etcdUrl}`, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", `--secure-port=${apiPort}`,
        `--tls-cert-file=${serving.cert}`, `--tls-private-key-file=${serving.key}`, `--client-ca-file=${pki.ca.cert}`,
        "--authorization-mode=RBAC", "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${sa.publicKey}`, `--service-account-signing-key-file=${sa.privateKey}`,
        "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true", `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--audit-policy-file=${join(dir, "audit-policy.yaml")}`, `--audit-log-path=${join(dir, "audit.log")}`,
        "--audit-log-format=json", "--audit-log-mode=blocking", "--profiling=false",
      ];
      apiArgs.push(...(opts.extraApiServerArgs ?? []));
      await copyFile(auditPolicyFile, join(dir, "audit-policy.yaml"));
      if (opts.auditWebhook) {
        if (opts.auditWebhook.token && !opts.auditWebhook.url.startsWith("https:")) {
          throw new Error(`audit webhook ${opts.auditWebhook.url}: a token is only sent over https (client-go drops it on plain http)`);
        }
        await writeFile(join(dir, "audit-webhook.kubeconfig"), await auditWebhookKubeconfig(opts.auditWebhook), { mode: 0o600 });
        apiArgs.push(`--audit-webhook-config-file=${join(dir, "audit-webhook.kubeconfig")}`, "--audit-webhook-mode=batch",
          "--audit-webhook-batch-max-wait=1s", "--audit-webhook-initial-backoff=1s");
      }
      log(`starting kube-apiserver on https://127.0.0.1:${apiPort}`);
      const apiserver = SupervisedProcess.start("kube-apiserver", binaries.kubeApiserver, apiArgs, join(dir, "kube-apiserver.log"));
      processes.push(apiserver);
      const server = `https://127.0.0.1:${apiPort}`;
      const tls = { ca: await readFile(pki.ca.cert), cert: await readFile(admin.cert), key: await readFile(admin.key) };
      await waitUntil("kube-apiserver", async () => (await httpsGet(`${server}/readyz`, tls)).status === 200, apiserver, 90_000);
      const version = (JSON.parse((await httpsGet(`${server}/version`, tls)).body) as { gitVersion: string }).gitVersion;

      const kubeconfigPath = join(dir, "admin.kubeconfig");
      await writeFile(kubeconfigPath, await kubeconfigFor(server, pki.ca.cert, admin), { mode: 0o600 });

      for (const file of opts.crdFiles ?? []) {
        log(`installing ${file}`);
        await run(binaries.kubectl, ["--kubeconfig", kubeconfigPath, "apply", "--server-side", "--field-manager=test-harness", "-f", file]);
        // Polled rather than `kubectl wait`, which can fail when it runs before the CRD has any conditions.
        for (const name of crdNames(await readFile(file, "utf8"))) {
          await waitUntil(`CRD ${name} Established`, async () => {
            const crd = await httpsGet(`${server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, tls);
            const conditions = (JSON.parse(crd.body) as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
            return conditions.some((c) => c.type === "Established" && c.status === "True");
          }, apiserver, 30_000);
        }
      }

      log(`starting kube-controller-manager (${[...defaultControllers, ...(opts.extraControllers ?? [])].join(", ")})`);
      await mkdir(join(dir, "kcm-certs"));
      const kcmKubeconfig = join(dir, "kube-controller-manager.kubeconfig");
      await writeFile(kcmKubeconfig, await kubeconfigFor(server, pki.ca.cert, controllerManager), { mode: 0o600 });
      const kcm = SupervisedProcess.start("kube-controller-manager", binaries.kubeControllerManager, [
        `--kubeconfig=${kcmKubeconfig}`, `--authentication-kubeconfig=${kcmKubeconfig}`, `--authorization-kubeconfig=${kcmKubeconfig}`,
        "--bind-address=127.0.0.1", `--secure-port=${kcmPort}`, `--cert-dir=${join(dir, "kcm-certs")}`,
        `--controllers=${[...defaultControllers, ...(opts.extraControllers ?? [])].join(",")}`,
        `--service-account-private-key-file=${sa.privateKey}`, `--root-ca-file=${pki.ca.cert}`,
        // Each controller under its own ServiceAccount (system:controller:* roles), not the manager's identity.
        "--leader-elect=false", "--use-service-account-credentials=true", "--profiling=false",
      ], join(dir, "kube-controller-manager.log"));
      processes.push(kcm);
      await waitUntil("kube-controller-manager", async () => (await httpsGet(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true })).status === 200, kcm, 60_000);

      log(`control plane ${version} ready in ${((Date.now() - started) / 1000).toFixed(1)}s; kubeconfig ${kubeconfigPath}`);
      return new ControlPlane({ dir, server, kubeconfigPath, binaries, version, pki, processes, keepData: opts.keepData ?? false });
    } catch (err) {
      for (const p of processes.reverse()) await p.stop(2_000);
      if (!opts.keepData) await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

function crdNames(manifest: string): string[] {
  return parseAllDocuments(manifest).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((o) => o?.kind === "CustomResourceDefinition").map((o) => o!.metadata!.name!);
}

/** Issues a client certificate from the control plane's CA in `dir` and writes a kubeconfig for it. */
export async function writeUserKubeconfig(dir: string, server: string, user: string, groups: string[] = []): Promise<string> {
  const pki = TestPki.open(dir);
  const identity = await pki.client(user, groups);
  const path = join(dir, `kubeconfig-${user.replace(/[^a-zA-Z0-9-]/g, "-")}-${process.pid}`);
  await writeFile(path, await kubeconfigFor(server, pki.ca.cert, identity), { mode: 0o600 });
  return path;
}

async function auditWebhookKubeconfig(hook: AuditWebhook): Promise<string> {
  const ca = hook.caFile ? `    certificate-authority-data: ${(await readFile(hook.caFile)).toString("base64")}` : undefined;
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: audit-sink",
    "  cluster:",
    `    server: ${hook.url}`,
    ...(ca ? [ca] : []),
    "users:",
    "- name: audit-sink",
    hook.token ? `  user:\n    token: ${hook.token}` : "  user: {}",
    "contexts:",
    "- name: audit-sink",
    "  context: {cluster: audit-sink, user: audit-sink}",
    "current-context: audit-sink",
    "",
  ].join("\n");
}

interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
}

export function httpsGet(url: string, tls: TlsOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on("error", reject);
    req.end();
  });
}
