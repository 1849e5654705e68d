// The operator's own kubeconfig and in-cluster loader, against a local HTTPS server with a real CA (openssl, as the
// control plane harness makes it): what reaches the server is what counts, TLS verification included.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { stringify } from "yaml";
import { TestPki, type ClientIdentity, type CertificateFiles } from "../../test/controlplane/pki.ts";
import { KubeApiError, KubeClient } from "./client.ts";
import { connectionFromKubeconfig, inClusterConnection, KubeConfigError, loadKubeconfigFiles, loadKubeConnection, type Kubeconfig, type KubeConnection } from "./config.ts";

interface Seen {
  authorization: string | null;
  clientCn: string | null;
  impersonateUser: string | null;
  impersonateGroup: string | null;
}

const b64 = (file: string) => readFileSync(file).toString("base64");

describe("kubeconfig and in-cluster loading", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
  let pki: TestPki;
  let otherPki: TestPki;
  let serving: CertificateFiles;
  let alice: ClientIdentity;
  let server: Server;
  let url = "";
  /** Tokens the server answers 401 for. */
  const refused = new Set<string>();

  beforeAll(async () => {
    mkdirSync(join(dir, "pki"));
    mkdirSync(join(dir, "other-pki"));
    pki = await TestPki.create(join(dir, "pki"));
    otherPki = await TestPki.create(join(dir, "other-pki"));
    serving = await pki.serving("server");
    alice = await pki.client("alice", ["team-a"]);
    server = createServer({ key: readFileSync(serving.key), cert: readFileSync(serving.cert), ca: readFileSync(pki.ca.cert), requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        const authorization = req.headers.authorization ?? null;
        if (authorization && refused.has(authorization.replace(/^Bearer /, ""))) {
          res.writeHead(401, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "Status", reason: "Unauthorized", message: "Unauthorized" }));
          return;
        }
        const seen: Seen = {
          authorization,
          clientCn: (req.socket as TLSSocket).authorized ? ([peer.subject?.CN ?? []].flat().join(",") || null) : null,
          impersonateUser: (req.headers["impersonate-user"] as string | undefined) ?? null,
          impersonateGroup: (req.headers["impersonate-group"] as string | undefined) ?? null,
        };
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(seen));
      });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    refused.clear();
    vi.restoreAllMocks();
  });

  const opened: KubeConnection[] = [];
  afterEach(() => opened.splice(0).forEach((c) => c.close()));

  /** What the server saw of one request made through `connection`. */
  function whoami(connection: KubeConnection): Promise<Seen> {
    opened.push(connection);
    return new KubeClient(connection).call<Seen>("get", "whoami", "GET", "/api/v1/whoami");
  }

  function write(name: string, content: string, mode?: number): string {
    const path = join(dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content);
    if (mode) chmodSync(path, mode);
    return path;
  }

  const oneUser = (cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Partial<Kubeconfig> = {}): Kubeconfig => ({
    apiVersion: "v1", kind: "Config",
    // Tables are built before the server listens; their configs fail before any request.
    clusters: [{ name: "c", cluster: { server: url || "https://192.0.2.1:6443", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    "current-context": "ctx",
    ...extra,
  });

  describe("kubeconfig files", () => {
    it("uses the current context: its server, CA and client certificate, files read relative to the kubeconfig", async () => {
      write("files/certs/ca.crt", readFileSync(pki.ca.cert, "utf8"));
      write("files/certs/alice.crt", readFileSync(alice.cert, "utf8"));
      write("files/certs/alice.key", readFileSync(alice.key, "utf8"));
      const path = write("files/config", stringify({
        apiVersion: "v1", kind: "Config",
        clusters: [
          { name: "elsewhere", cluster: { server: "https://192.0.2.1:6443" } },
          { name: "local", cluster: { server: `${url}/`, "certificate-authority": "certs/ca.crt" } },
        ],
        users: [{ name: "alice", user: { "client-certificate": "certs/alice.crt", "client-key": "certs/alice.key" } }, { name: "bob", user: { token: "bobs" } }],
        contexts: [
          { name: "other", context: { cluster: "elsewhere", user: "bob" } },
          { name: "mine", context: { cluster: "local", user: "alice", namespace: "team-a" } },
        ],
        "current-context": "mine",
      }));
      const connection = loadKubeconfigFiles([path]);
      expect(connection.server).toBe(url);
      expect(connection.namespace).toBe("team-a");
      expect(await whoami(connection)).toEqual({ authorization: null, clientCn: "alice", impersonateUser: null, impersonateGroup: null });
    });

    it("takes -data fields as base64, and sends a bearer token and impersonation headers", async () => {
      const connection = connectionFromKubeconfig(oneUser({ "certificate-authority-data": b64(pki.ca.cert) },
        { "client-certificate-data": b64(alice.cert), "client-key-data": b64(alice.key), token: "t0ken", as: "bob", "as-groups": ["g1", "g2"] }));
      expect(await whoami(connection)).toEqual({ authorization: "Bearer t0ken", clientCn: "alice", impersonateUser: "bob", impersonateGroup: "g1,g2" });
    });

    it("sends basic auth for a username and password", async () => {
      const connection = connectionFromKubeconfig(oneUser({ "certificate-authority-data": b64(pki.ca.cert) }, { username: "ann", password: "s3cret" }));
      expect((await whoami(connection)).authorization).toBe(`Basic ${Buffer.from("ann:s3cret").toString("base64")}`);
    });

    it("verifies the server against the given CA and refuses one it did not sign, unless insecure-skip-tls-verify", async () => {
      const wrongCa = connectionFromKubeconfig(oneUser({ "certificate-authority-data": b64(otherPki.ca.cert) }, { token: "x" }));
      opened.push(wrongCa);
      await expect(new KubeClient(wrongCa).call("get", "whoami", "GET", "/api/v1/whoami")).rejects.toThrow(/certificate/i);
      const insecure = connectionFromKubeconfig(oneUser({ "insecure-skip-tls-verify": true }, { token: "x" }));
      expect((await whoami(insecure)).authorization).toBe("Bearer x");
    });

    it("re-reads a tokenFile after the server refuses the token it had", async () => {
      const tokenPath = write("tokenfile/token", "first\n");
      const connection = connectionFromKubeconfig(oneUser({ "certificate-authority-data": b64(pki.ca.cert) }, { tokenFile: "token" }), { dir: join(dir, "tokenfile") });
      expect((await whoami(connection)).authorization).toBe("Bearer first");
      writeFileSync(tokenPath, "second\n");
      refused.add("first");
      await expect(whoami(connection)).rejects.toMatchObject({ status: 401 });
      expect((await whoami(connection)).authorization).toBe("Bearer second");
    });

    it("merges KUBECONFIG files like kubectl: the first definition of a name and the first current-context win", async () => {
      const a = write("merge/a", stringify({ clusters: [{ name: "c", cluster: { server: url, "certificate-authority-data": b64(pki.ca.cert) } }], "current-context": "ctx" }));
      const b = write("merge/b", stringify({
        clusters: [{ name: "c", cluster: { server: "https://192.0.2.1:1" } }],
        users: [{ name: "u", user: { token: "from-b" } }],
        contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
        "current-context": "ignored",
      }));
      const connection = loadKubeconfigFiles([join(dir, "merge/missing"), a, b]);
      expect(connection.server).toBe(url);
      expect((await whoami(connection)).authorization).toBe("Bearer from-b");
    });

    it.each<[string, Kubeconfig, RegExp]>([
      ["an auth-provider", { ...oneUser({}, { "auth-provider": { name: "gcp" } }) }, /auth-provider "gcp", which the operator does not support; use an exec credential plugin/],
      ["an exec plugin of a removed API version", oneUser({}, { exec: { apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x" } }), /exec.apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/],
      ["an interactive exec plugin", oneUser({}, { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "x", interactiveMode: "Always" } }), /needs a terminal/],
      ["a context that is not defined", oneUser({}, {}, { "current-context": "nope" }), /context "nope" is not defined/],
      ["no current context", oneUser({}, {}, { "current-context": "" }), /no current-context/],
      ["a proxy", oneUser({ "proxy-url": "http://proxy:3128" }, {}), /proxy-url, which the operator does not support/],
      ["a CA with insecure-skip-tls-verify", oneUser({ "certificate-authority-data": "eA==", "insecure-skip-tls-verify": true }, {}), /both a certificate authority and insecure-skip-tls-verify/],
      ["a token and a password", oneUser({}, { token: "t", username: "u", password: "p" }), /both a token and a username\/password/],
      ["a certificate without its key", oneUser({}, { "client-certificate-data": "eA==" }), /client certificate without its key/],
    ])("refuses %s with a clear error", (_what, config, message) => {
      expect(() => connectionFromKubeconfig(config)).toThrow(KubeConfigError);
      expect(() => connectionFromKubeconfig(config)).toThrow(message);
    });
  });

  describe("exec credential plugins", () => {
    // A real plugin: counts its runs in a file, records the KUBERNETES_EXEC_INFO it got, prints an ExecCredential
    // whose token names the run and whose expiry comes from the kubeconfig's exec.env.
    const plugin = [
      "#!/bin/sh",
      'echo run >> "$RUNS"',
      'printf "%s" "$KUBERNETES_EXEC_INFO" > "$RUNS.info"',
      'n=$(wc -l < "$RUNS" | tr -d " ")',
      'printf \'{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s-%s","expirationTimestamp":"%s"}}\' "$API" "$1" "$n" "$EXPIRES"',
      "",
    ].join("\n");

    function execKubeconfig(name: string, opts: { apiVersion?: string; expires: string; provideClusterInfo?: boolean }): { connection: KubeConnection; runs: () => number; info: () => unknown } {
      const base = join(dir, name);
      write(`${name}/bin/plugin.sh`, plugin, 0o755);
      const runsFile = join(base, "runs");
      const apiVersion = opts.apiVersion ?? "client.authentication.k8s.io/v1";
      const path = write(`${name}/config`, stringify(oneUser({ "certificate-authority-data": b64(pki.ca.cert) }, {
        exec: {
          apiVersion, command: "./bin/plugin.sh", args: ["tok"], interactiveMode: "Never", provideClusterInfo: opts.provideClusterInfo ?? false,
          env: [{ name: "RUNS", value: runsFile }, { name: "API", value: apiVersion }, { name: "EXPIRES", value: opts.expires }],
        },
      })));
      return {
        connection: loadKubeconfigFiles([path]),
        runs: () => { try { return readFileSync(runsFile, "utf8").split("\n").filter(Boolean).length; } catch { return 0; } },
        info: () => JSON.parse(readFileSync(`${runsFile}.info`, "utf8")),
      };
    }

    it("runs the plugin once (concurrent requests share the run) and keeps its token until it expires", async () => {
      const { connection, runs, info } = execKubeconfig("exec-cached", { expires: "2999-01-01T00:00:00Z" });
      const seen = await Promise.all(Array.from({ length: 5 }, () => whoami(connection)));
      expect(seen.map((s) => s.authorization)).toEqual(Array(5).fill("Bearer tok-1"));
      expect((await whoami(connection)).authorization).toBe("Bearer tok-1");
      expect(runs()).toBe(1);
      expect(info()).toEqual({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", spec: { interactive: false } });
    });

    it("runs the plugin again once the credential has expired (v1beta1, cluster info provided)", async () => {
      const { connection, runs, info } = execKubeconfig("exec-expired", { apiVersion: "client.authentication.k8s.io/v1beta1", expires: "2000-01-01T00:00:00Z", provideClusterInfo: true });
      expect((await whoami(connection)).authorization).toBe("Bearer tok-1");
      expect((await whoami(connection)).authorization).toBe("Bearer tok-2");
      expect(runs()).toBe(2);
      expect(info()).toMatchObject({ apiVersion: "client.authentication.k8s.io/v1beta1", spec: { interactive: false, cluster: { server: url, "certificate-authority-data": b64(pki.ca.cert) } } });
    });

    it("runs the plugin again after the server refuses its token", async () => {
      const { connection, runs } = execKubeconfig("exec-401", { expires: "2999-01-01T00:00:00Z" });
      expect((await whoami(connection)).authorization).toBe("Bearer tok-1");
      refused.add("tok-1");
      const err = await whoami(connection).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect((await whoami(connection)).authorization).toBe("Bearer tok-2");
      expect(runs()).toBe(2);
    });

    it("authenticates with the client certificate a plugin returns", async () => {
      const credential = write("exec-cert/credential.json", JSON.stringify({
        apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential",
        status: { clientCertificateData: readFileSync(alice.cert, "utf8"), clientKeyData: readFileSync(alice.key, "utf8") },
      }));
      const connection = connectionFromKubeconfig(oneUser({ "certificate-authority-data": b64(pki.ca.cert) },
        { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "cat", args: [credential], interactiveMode: "Never" } }));
      expect(await whoami(connection)).toMatchObject({ authorization: null, clientCn: "alice" });
    });

    it("fails the request with the plugin's stderr, or its install hint when it is not installed", async () => {
      const failing = connectionFromKubeconfig(oneUser({ "insecure-skip-tls-verify": true },
        { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "sh", args: ["-c", "echo 'login expired' >&2; exit 3"] } }));
      await expect(whoami(failing)).rejects.toThrow(/exec plugin sh exited with 3: login expired/);
      const missing = connectionFromKubeconfig(oneUser({ "insecure-skip-tls-verify": true },
        { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "minixdr-no-such-plugin", installHint: "install it from example.com" } }));
      await expect(whoami(missing)).rejects.toThrow(/executable not found\ninstall it from example.com/);
    });
  });

  describe("in-cluster", () => {
    function serviceAccountDir(name: string, token: string): string {
      const sa = join(dir, name);
      write(`${name}/token`, token);
      write(`${name}/ca.crt`, readFileSync(pki.ca.cert, "utf8"));
      write(`${name}/namespace`, "minixdr-system");
      return sa;
    }
    const env = () => ({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: new URL(url).port });

    it("reads the ServiceAccount's token, CA and namespace, and the API server's address from the environment", async () => {
      const connection = inClusterConnection({ dir: serviceAccountDir("sa", "sa-token-1"), env: env() });
      expect(connection.server).toBe(url);
      expect(connection.namespace).toBe("minixdr-system");
      expect(await whoami(connection)).toMatchObject({ authorization: "Bearer sa-token-1", clientCn: null });
      expect(inClusterConnection({ dir: join(dir, "sa"), env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" } }).server).toBe("https://[fd00::1]:443");
    });

    it("picks up a rotated token within a minute, and at once after a 401", async () => {
      const sa = serviceAccountDir("sa-rotating", "old");
      const connection = inClusterConnection({ dir: sa, env: env() });
      expect((await whoami(connection)).authorization).toBe("Bearer old");
      writeFileSync(join(sa, "token"), "new");
      expect((await whoami(connection)).authorization).toBe("Bearer old");
      const now = Date.now();
      vi.spyOn(Date, "now").mockReturnValue(now + 61_000);
      expect((await whoami(connection)).authorization).toBe("Bearer new");
      vi.restoreAllMocks();

      writeFileSync(join(sa, "token"), "newer");
      refused.add("new");
      await expect(whoami(connection)).rejects.toMatchObject({ status: 401 });
      expect((await whoami(connection)).authorization).toBe("Bearer newer");
    });

    it("needs the service environment variables", () => {
      expect(() => inClusterConnection({ dir: serviceAccountDir("sa-noenv", "t"), env: {} })).toThrow(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
    });
  });

  describe("which configuration is used", () => {
    it("takes --kubeconfig, else KUBECONFIG, else ~/.kube/config, else the ServiceAccount, else says what is missing", () => {
      const config = (server: string) => stringify(oneUser({ server }, { token: "t" }));
      const flag = write("which/flag", config("https://flag.example:6443"));
      const fromEnv = write("which/env", config("https://env.example:6443"));
      const home = join(dir, "which/home");
      const sa = join(dir, "which/sa");
      const opts = { home, serviceAccountDir: sa };
      const inCluster = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };

      expect(() => loadKubeConnection({ ...opts, env: {} })).toThrow(/no cluster configured: pass --kubeconfig or set KUBECONFIG/);
      write("which/sa/token", "t");
      write("which/sa/ca.crt", readFileSync(pki.ca.cert, "utf8"));
      expect(loadKubeConnection({ ...opts, env: inCluster }).server).toBe("https://10.0.0.1:443");
      write("which/home/.kube/config", config("https://home.example:6443"));
      expect(loadKubeConnection({ ...opts, env: inCluster }).server).toBe("https://home.example:6443");
      expect(loadKubeConnection({ ...opts, env: { KUBECONFIG: fromEnv } }).server).toBe("https://env.example:6443");
      expect(loadKubeConnection({ ...opts, kubeconfig: flag, env: { KUBECONFIG: fromEnv } }).server).toBe("https://flag.example:6443");
      expect(() => loadKubeConnection({ ...opts, kubeconfig: join(dir, "which/none"), env: {} })).toThrow(/no kubeconfig file found/);
    });
  });
});
