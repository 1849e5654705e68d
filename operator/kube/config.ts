// Where the API server is and how to authenticate to it, read the way client-go and kubectl read it, without
// @kubernetes/client-node (whose import alone costs the process ~80 MB): kubeconfig files or the pod's ServiceAccount.
// Every request asks `prepare()` for its agent (TLS) and headers (credentials), so credentials that rotate (a projected
// ServiceAccount token, an exec plugin's expiring token) are picked up without a restart.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { isIPv6 } from "node:net";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, sep } from "node:path";
import { createSecureContext } from "node:tls";
import type * as Yaml from "yaml";
import { http } from "../runtime/node-http.ts";

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
/** client-go re-reads token files every minute; a projected ServiceAccount token is refreshed long before it expires. */
const tokenFileRefreshMs = 60_000;
const execApiVersions = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

/** One request's share of the connection: the agent that carries the TLS settings, and the auth headers. */
export interface PreparedRequest {
  agent: HttpAgent;
  headers: Record<string, string>;
}

/** The parts of a kubeconfig file the operator reads (https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/). */
interface KubeconfigCluster {
  server?: string;
  "certificate-authority"?: string | null;
  "certificate-authority-data"?: string | null;
  "insecure-skip-tls-verify"?: boolean | null;
  "tls-server-name"?: string | null;
  "proxy-url"?: string | null;
}

export interface ExecConfig {
  apiVersion?: string;
  command?: string;
  args?: string[] | null;
  env?: { name: string; value: string }[] | null;
  installHint?: string | null;
  provideClusterInfo?: boolean | null;
  interactiveMode?: string | null;
}

interface KubeconfigUser {
  token?: string | null;
  tokenFile?: string | null;
  username?: string | null;
  password?: string | null;
  "client-certificate"?: string | null;
  "client-certificate-data"?: string | null;
  "client-key"?: string | null;
  "client-key-data"?: string | null;
  as?: string | null;
  "as-groups"?: string[] | null;
  exec?: ExecConfig | null;
  "auth-provider"?: { name?: string } | null;
}

interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string | null;
}

/** A kubeconfig document (YAML or JSON), as written by kubectl. */
export interface Kubeconfig {
  apiVersion?: string;
  kind?: string;
  clusters?: { name: string; cluster: KubeconfigCluster }[] | null;
  users?: { name: string; user: KubeconfigUser }[] | null;
  contexts?: { name: string; context: KubeconfigContext }[] | null;
  "current-context"?: string | null;
}

interface Credential {
  headers: Record<string, string>;
  /** PEM client certificate and key, from an exec plugin. */
  cert?: string;
  key?: string;
}

interface Authenticator {
  credential(): Promise<Credential>;
  /** The API server answered 401: whatever was cached is stale. */
  invalidate(): void;
}

const anonymous: Authenticator = { credential: () => Promise.resolve({ headers: {} }), invalidate: () => {} };

function staticAuth(headers: Record<string, string>): Authenticator {
  return { credential: () => Promise.resolve({ headers }), invalidate: () => {} };
}

/** A bearer token read from a file, read again every minute and after a 401 (the kubelet rotates projected tokens). */
class TokenFileAuth implements Authenticator {
  private readonly path: string;
  private token = "";
  private readAt = 0;

  constructor(path: string) {
    this.path = path;
    this.read();
  }

  private read(): void {
    try {
      this.token = readFileSync(this.path, "utf8").trim();
      this.readAt = Date.now();
    } catch (err) {
      // A failed re-read keeps the last token (client-go's cached file token source does the same).
      if (!this.token) throw new KubeConfigError(`cannot read the token file ${this.path}: ${(err as Error).message}`);
    }
  }

  credential(): Promise<Credential> {
    if (Date.now() - this.readAt >= tokenFileRefreshMs) this.read();
    return Promise.resolve({ headers: { Authorization: `Bearer ${this.token}` } });
  }

  invalidate(): void {
    this.readAt = 0;
  }
}

interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

/**
 * A client-go credential plugin (client.authentication.k8s.io/v1 or v1beta1): runs the command, reads an
 * ExecCredential from its stdout, and keeps it until its expirationTimestamp (or, without one, until a 401).
 * Concurrent requests share one run. The operator never has a terminal, so it tells the plugin it is not interactive.
 */
export class ExecAuth implements Authenticator {
  private readonly exec: ExecConfig & { command: string; apiVersion: string };
  private readonly cluster: Record<string, unknown> | undefined;
  private cached: { credential: Credential; expiresAt: number } | undefined;
  private running: Promise<Credential> | undefined;

  constructor(exec: ExecConfig, where: string, cluster?: Record<string, unknown>) {
    if (!exec.command) throw new KubeConfigError(`${where}: exec.command is required`);
    if (!exec.apiVersion || !execApiVersions.includes(exec.apiVersion)) {
      throw new KubeConfigError(`${where}: exec.apiVersion ${JSON.stringify(exec.apiVersion ?? "")} is not supported; use one of ${execApiVersions.join(", ")}`);
    }
    if (exec.interactiveMode === "Always") {
      throw new KubeConfigError(`${where}: exec plugin ${exec.command} needs a terminal (interactiveMode: Always), and the operator runs without one`);
    }
    this.exec = { ...exec, command: exec.command, apiVersion: exec.apiVersion };
    this.cluster = exec.provideClusterInfo ? cluster : undefined;
  }

  credential(): Promise<Credential> {
    if (this.cached && Date.now() < this.cached.expiresAt) return Promise.resolve(this.cached.credential);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async run(): Promise<Credential> {
    const { command, apiVersion } = this.exec;
    const info = { apiVersion, kind: "ExecCredential", spec: { interactive: false, ...(this.cluster ? { cluster: this.cluster } : {}) } };
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const e of this.exec.env ?? []) env[e.name] = e.value;
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(command, this.exec.args ?? [], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.on("error", (e: NodeJS.ErrnoException) => {
        const hint = this.exec.installHint ? `\n${this.exec.installHint}` : "";
        reject(new KubeConfigError(`exec plugin ${command}: ${e.code === "ENOENT" ? "executable not found" : e.message}${hint}`));
      });
      child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) throw new KubeConfigError(`exec plugin ${command} exited with ${code}: ${stderr.trim()}`);
    let parsed: { apiVersion?: string; kind?: string; status?: ExecCredentialStatus };
    try {
      parsed = JSON.parse(stdout) as typeof parsed;
    } catch {
      throw new KubeConfigError(`exec plugin ${command} did not print an ExecCredential as JSON`);
    }
    if (parsed.kind !== "ExecCredential" || parsed.apiVersion !== apiVersion) {
      throw new KubeConfigError(`exec plugin ${command} printed ${parsed.kind ?? "no kind"} ${parsed.apiVersion ?? ""}; expected ExecCredential ${apiVersion}`);
    }
    const s = parsed.status ?? {};
    if (Boolean(s.clientCertificateData) !== Boolean(s.clientKeyData)) {
      throw new KubeConfigError(`exec plugin ${command} returned a client certificate without its key, or a key without its certificate`);
    }
    if (!s.token && !s.clientCertificateData) throw new KubeConfigError(`exec plugin ${command} returned neither a token nor a client certificate`);
    const credential: Credential = { headers: s.token ? { Authorization: `Bearer ${s.token}` } : {} };
    if (s.clientCertificateData && s.clientKeyData) {
      credential.cert = s.clientCertificateData;
      credential.key = s.clientKeyData;
    }
    let expiresAt = Number.POSITIVE_INFINITY;
    if (s.expirationTimestamp) {
      expiresAt = Date.parse(s.expirationTimestamp);
      if (Number.isNaN(expiresAt)) throw new KubeConfigError(`exec plugin ${command}: expirationTimestamp ${JSON.stringify(s.expirationTimestamp)} is not a time`);
    }
    this.cached = { credential, expiresAt };
    return credential;
  }
}

export interface TlsSettings {
  /** PEM; absent means the system's roots. */
  ca?: Buffer;
  cert?: Buffer | string;
  key?: Buffer | string;
  rejectUnauthorized: boolean;
  servername?: string;
}

export interface ConnectionSettings {
  /** The API server's base URL, without a trailing slash (it may carry a path prefix). */
  server: string;
  tls: TlsSettings;
  auth?: Authenticator;
  /** Impersonate-User / Impersonate-Group. */
  impersonate?: { user?: string; groups?: string[] };
  /** The namespace the context or the ServiceAccount names, if any. */
  namespace?: string;
  /** Where the settings came from, for logs and errors. */
  source: string;
}

/**
 * One API server and one identity. Keep-alive connections are shared by every request; the TLS context (CA and
 * client certificate) is built once per client certificate rather than once per connection.
 */
export class KubeConnection {
  readonly server: string;
  readonly namespace: string | undefined;
  readonly source: string;
  private readonly tls: TlsSettings;
  private readonly auth: Authenticator;
  private readonly impersonation: Record<string, string>;
  private agent: { agent: HttpAgent; cert: unknown } | undefined;

  constructor(s: ConnectionSettings) {
    const url = new URL(s.server);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new KubeConfigError(`${s.source}: server ${s.server} is neither https nor http`);
    this.server = s.server.replace(/\/+$/, "");
    this.namespace = s.namespace || undefined;
    this.source = s.source;
    this.tls = s.tls;
    this.auth = s.auth ?? anonymous;
    this.impersonation = {};
    if (s.impersonate?.user) this.impersonation["Impersonate-User"] = s.impersonate.user;
    if (s.impersonate?.groups?.length) this.impersonation["Impersonate-Group"] = s.impersonate.groups.join(",");
  }

  /** The full URL of an API path such as `/api/v1/namespaces`. */
  url(path: string): URL {
    return new URL(this.server + path);
  }

  /** What one request needs: every request the operator makes passes here exactly once (see countRequests). */
  async prepare(_method: string, _url: URL): Promise<PreparedRequest> {
    const credential = await this.auth.credential();
    return { agent: this.agentFor(credential), headers: { ...credential.headers, ...this.impersonation } };
  }

  /** Called on a 401: the next request fetches fresh credentials (re-reads the token file, re-runs the exec plugin). */
  unauthorized(): void {
    this.auth.invalidate();
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }

  private agentFor(credential: Credential): HttpAgent {
    const cert = credential.cert ?? this.tls.cert;
    if (this.agent && this.agent.cert === cert) return this.agent.agent;
    this.agent?.agent.destroy();
    // Keep-alive with idle sockets closed after 30 s, well before the API server's 90 s idle timeout.
    const common = { keepAlive: true, timeout: 30_000, maxFreeSockets: 16 };
    let agent: HttpAgent;
    if (this.server.startsWith("http:")) agent = new http.Agent(common);
    else {
      const key = credential.key ?? this.tls.key;
      const secureContext = createSecureContext({ ...(this.tls.ca ? { ca: this.tls.ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) });
      agent = new HttpsAgent({ ...common, secureContext, rejectUnauthorized: this.tls.rejectUnauthorized, ...(this.tls.servername ? { servername: this.tls.servername } : {}) });
    }
    this.agent = { agent, cert };
    return agent;
  }
}

/** The pod's ServiceAccount: token (re-read as the kubelet rotates it), CA and namespace from `dir`, address from the environment. */
export function inClusterConnection(opts: { dir?: string; env?: NodeJS.ProcessEnv } = {}): KubeConnection {
  const dir = opts.dir ?? serviceAccountDir;
  const env = opts.env ?? process.env;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeConfigError("in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which Kubernetes sets in every pod");
  const caPath = join(dir, "ca.crt");
  let ca: Buffer;
  try {
    ca = readFileSync(caPath);
  } catch (err) {
    throw new KubeConfigError(`cannot read the ServiceAccount CA ${caPath}: ${(err as Error).message}`);
  }
  const namespacePath = join(dir, "namespace");
  const namespace = existsSync(namespacePath) ? readFileSync(namespacePath, "utf8").trim() : undefined;
  return new KubeConnection({
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    tls: { ca, rejectUnauthorized: true },
    auth: new TokenFileAuth(join(dir, "token")),
    ...(namespace ? { namespace } : {}),
    source: `in-cluster (ServiceAccount in ${dir})`,
  });
}

/** A kubeconfig entry's value from a file (relative to the kubeconfig) or from base64 data; the file wins, as in client-go. */
function fileOrData(base: string, file: string | null | undefined, data: string | null | undefined, what: string): Buffer | undefined {
  if (file) {
    const path = isAbsolute(file) ? file : join(base, file);
    try {
      return readFileSync(path);
    } catch (err) {
      throw new KubeConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
    }
  }
  return data ? Buffer.from(data, "base64") : undefined;
}

function named<T>(list: { name: string }[] | null | undefined, name: string, key: string): T | undefined {
  const entry = list?.find((e) => e.name === name) as Record<string, unknown> | undefined;
  return entry?.[key] as T | undefined;
}

/**
 * The current context of a kubeconfig as a connection. `dir` is what relative paths (certificate files, token file,
 * an exec command with a path separator) are relative to: the directory of the file that defined them.
 */
export function connectionFromKubeconfig(config: Kubeconfig, opts: { dir?: string; source?: string; context?: string; dirs?: Map<object, string> } = {}): KubeConnection {
  const source = opts.source ?? "kubeconfig";
  const contextName = opts.context ?? config["current-context"] ?? "";
  if (!contextName) throw new KubeConfigError(`${source}: no current-context`);
  const context = named<KubeconfigContext>(config.contexts, contextName, "context");
  if (!context) throw new KubeConfigError(`${source}: context ${JSON.stringify(contextName)} is not defined`);
  const cluster = named<KubeconfigCluster>(config.clusters, context.cluster ?? "", "cluster");
  if (!cluster?.server) throw new KubeConfigError(`${source}: context ${JSON.stringify(contextName)} names cluster ${JSON.stringify(context.cluster ?? "")}, which is not defined or has no server`);
  const user: KubeconfigUser = (context.user ? named<KubeconfigUser>(config.users, context.user, "user") : undefined) ?? {};
  const dirOf = (o: object) => opts.dirs?.get(o) ?? opts.dir ?? process.cwd();
  const clusterDir = dirOf(cluster);
  const userDir = dirOf(user);
  const where = `${source}: user ${JSON.stringify(context.user ?? "")}`;

  if (cluster["proxy-url"]) throw new KubeConfigError(`${source}: cluster ${JSON.stringify(context.cluster)} sets proxy-url, which the operator does not support; reach the API server directly`);
  if (user["auth-provider"]) {
    const name = user["auth-provider"].name ?? "";
    throw new KubeConfigError(`${where} authenticates with auth-provider ${JSON.stringify(name)}, which the operator does not support; `
      + "use an exec credential plugin instead (kubectl's own providers moved to plugins such as gke-gcloud-auth-plugin, kubelogin), a token or a client certificate");
  }
  const ca = fileOrData(clusterDir, cluster["certificate-authority"], cluster["certificate-authority-data"], "the certificate authority");
  const insecure = cluster["insecure-skip-tls-verify"] === true;
  if (insecure && ca) throw new KubeConfigError(`${source}: cluster ${JSON.stringify(context.cluster)} sets both a certificate authority and insecure-skip-tls-verify; choose one`);
  const cert = fileOrData(userDir, user["client-certificate"], user["client-certificate-data"], "the client certificate");
  const key = fileOrData(userDir, user["client-key"], user["client-key-data"], "the client key");
  if (Boolean(cert) !== Boolean(key)) throw new KubeConfigError(`${where} has a client certificate without its key, or a key without its certificate`);

  const hasToken = Boolean(user.token || user.tokenFile);
  const hasBasic = Boolean(user.username || user.password);
  if (hasToken && hasBasic) throw new KubeConfigError(`${where} has both a token and a username/password; only one is allowed`);
  let auth: Authenticator | undefined;
  // A static token wins over an exec plugin (client-go's exec transport leaves a request that already has an Authorization header alone).
  if (user.tokenFile) auth = new TokenFileAuth(isAbsolute(user.tokenFile) ? user.tokenFile : join(userDir, user.tokenFile));
  else if (user.token) auth = staticAuth({ Authorization: `Bearer ${user.token}` });
  else if (hasBasic) auth = staticAuth({ Authorization: `Basic ${Buffer.from(`${user.username ?? ""}:${user.password ?? ""}`).toString("base64")}` });
  else if (user.exec) {
    const command = user.exec.command && user.exec.command.includes(sep) && !isAbsolute(user.exec.command) ? join(userDir, user.exec.command) : user.exec.command;
    auth = new ExecAuth({ ...user.exec, ...(command ? { command } : {}) }, where, {
      server: cluster.server,
      ...(cluster["tls-server-name"] ? { "tls-server-name": cluster["tls-server-name"] } : {}),
      ...(insecure ? { "insecure-skip-tls-verify": true } : {}),
      ...(ca ? { "certificate-authority-data": ca.toString("base64") } : {}),
    });
  }
  return new KubeConnection({
    server: cluster.server,
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), rejectUnauthorized: !insecure, ...(cluster["tls-server-name"] ? { servername: cluster["tls-server-name"] } : {}) },
    ...(auth ? { auth } : {}),
    impersonate: { ...(user.as ? { user: user.as } : {}), ...(user["as-groups"] ? { groups: user["as-groups"] } : {}) },
    ...(context.namespace ? { namespace: context.namespace } : {}),
    source: `${source} (context ${contextName})`,
  });
}

/**
 * Reads kubeconfig files and merges them like kubectl does with KUBECONFIG=a:b: the first file to define a cluster,
 * user or context name wins, and so does the first current-context. Files that do not exist are skipped; at least one must.
 */
export function loadKubeconfigFiles(paths: string[], opts: { context?: string } = {}): KubeConnection {
  // Loaded on first use: a pod on its ServiceAccount never reads YAML.
  const { parse } = createRequire(import.meta.url)("yaml") as typeof Yaml;
  const merged: Kubeconfig = { clusters: [], users: [], contexts: [] };
  const dirs = new Map<object, string>();
  const found: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) continue;
    let doc: Kubeconfig | null;
    try {
      doc = parse(readFileSync(path, "utf8")) as Kubeconfig | null;
    } catch (err) {
      throw new KubeConfigError(`cannot parse kubeconfig ${path}: ${(err as Error).message}`);
    }
    found.push(path);
    if (!doc) continue;
    const dir = dirname(path);
    for (const key of ["clusters", "users", "contexts"] as const) {
      const into = merged[key] as { name: string }[];
      for (const entry of (doc[key] ?? []) as { name: string; [k: string]: unknown }[]) {
        if (!entry?.name || into.some((e) => e.name === entry.name)) continue;
        into.push(entry);
        const value = entry[key.slice(0, -1)];
        if (value && typeof value === "object") dirs.set(value, dir);
      }
    }
    merged["current-context"] ||= doc["current-context"];
  }
  if (found.length === 0) throw new KubeConfigError(`no kubeconfig file found at ${paths.join(", ")}`);
  // A user entry may be absent or empty; empty objects are not in `dirs`, and fall back to the first file's directory.
  return connectionFromKubeconfig(merged, { dir: dirname(found[0]!), dirs, source: found.join(delimiter), ...(opts.context ? { context: opts.context } : {}) });
}

/**
 * The operator's cluster, found as kubectl and client-node find it: `kubeconfig` (the --kubeconfig flag or KUBECONFIG,
 * a list separated by `:`), else ~/.kube/config, else the pod's ServiceAccount.
 */
export function loadKubeConnection(opts: { kubeconfig?: string; home?: string; serviceAccountDir?: string; env?: NodeJS.ProcessEnv } = {}): KubeConnection {
  const env = opts.env ?? process.env;
  const explicit = (opts.kubeconfig || env.KUBECONFIG || "").split(delimiter).filter(Boolean);
  if (explicit.length > 0) return loadKubeconfigFiles(explicit);
  const home = opts.home ?? env.HOME ?? homedir();
  const userConfig = join(home, ".kube", "config");
  if (existsSync(userConfig)) return loadKubeconfigFiles([userConfig]);
  const dir = opts.serviceAccountDir ?? serviceAccountDir;
  if (existsSync(join(dir, "token"))) return inClusterConnection({ dir, env });
  throw new KubeConfigError(`no cluster configured: pass --kubeconfig or set KUBECONFIG, create ${userConfig}, or run in a pod with a ServiceAccount token in ${dir}`);
}
