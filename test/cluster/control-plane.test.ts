import { execFileSync, spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { expect, inject, it, vi } from "vitest";
import { controlPlaneBinaries, pinnedKubernetesVersion, usingExternalBinaries } from "../controlplane/binaries.ts";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { TestPki } from "../controlplane/pki.ts";
import { adminKubeConfig, describeCluster, isApiError, kubeConfigFromFile, randomName, useNamespace } from "../support/cluster.ts";

const restrictedPod = (name: string, privileged: boolean): k8s.V1Pod => ({
  metadata: { name },
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{
      name: "main",
      image: "registry.example/busybox:1",
      securityContext: privileged
        ? { privileged: true }
        : { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    }],
  },
});

/** Processes whose command line mentions the control plane's data directory. */
function processesUsing(dir: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describeCluster("real control plane", () => {
  const ns = useNamespace("smoke");

  it("reports the Kubernetes version it was built as", async () => {
    const version = await adminKubeConfig().makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toBe(inject("controlPlaneVersion"));
    if (!usingExternalBinaries()) {
      expect(version.gitVersion).toBe(pinnedKubernetesVersion);
      expect(version.minor).toBe(pinnedKubernetesVersion.split(".")[1]);
    }
  });

  it("garbage-collects a ConfigMap whose owner is deleted", async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const owner = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "owner" } } });
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid!, controller: true }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns.name, name: "owner" });
    await vi.waitFor(async () => {
      const err = await core.readNamespacedConfigMap({ namespace: ns.name, name: "dependent" }).then(() => undefined, (e: unknown) => e);
      expect(isApiError(err, 404)).toBe(true);
    }, { timeout: 30_000, interval: 250 });
  });

  it("refuses a privileged pod in a namespace that enforces pod-security restricted", async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const name = randomName("restricted");
    await core.createNamespace({ body: { metadata: { name, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } } });
    try {
      // The serviceaccount controller creates "default" shortly after the namespace; the ServiceAccount admission plugin needs it.
      await vi.waitFor(() => core.readNamespacedServiceAccount({ namespace: name, name: "default" }), { timeout: 30_000, interval: 200 });
      const refused = await core.createNamespacedPod({ namespace: name, body: restrictedPod("privileged", true) }).then(() => undefined, (e: unknown) => e);
      expect(isApiError(refused, 403)).toBe(true);
      const status = JSON.parse((refused as k8s.ApiException<string>).body) as { message: string };
      expect(status.message).toMatch(/violates PodSecurity "restricted:latest": privileged \(container "main" must not set securityContext.privileged=true\)/);
      // A pod that meets the profile is admitted, so the refusal above came from PodSecurity and nothing else.
      const admitted = await core.createNamespacedPod({ namespace: name, body: restrictedPod("compliant", false) });
      expect(admitted.metadata?.name).toBe("compliant");
    } finally {
      await core.deleteNamespace({ name });
    }
  });

  it("delivers audit.k8s.io/v1 EventLists to a configured webhook", async () => {
    const batches: { auth: string | undefined; body: { kind: string; apiVersion: string; items: { verb: string; objectRef?: { name?: string; resource?: string } }[] } }[] = [];
    const sinkDir = await mkdtemp(join(tmpdir(), "audit-sink-"));
    const sinkPki = await TestPki.create(sinkDir);
    const cert = await sinkPki.serving("audit-sink");
    const sink = createServer({ cert: await readFile(cert.cert), key: await readFile(cert.key) }, (req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        batches.push({ auth: req.headers.authorization, body: JSON.parse(body) as (typeof batches)[number]["body"] });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
    const url = `https://127.0.0.1:${(sink.address() as AddressInfo).port}/ingest/k8s-audit`;
    const cp = await ControlPlane.start({
      binaries: (await controlPlaneBinaries({ build: false }))!,
      auditWebhook: { url, token: "audit-token", caFile: sinkPki.ca.cert },
    });
    try {
      const core = kubeConfigFromFile(cp.kubeconfigPath).makeApiClient(k8s.CoreV1Api);
      await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "audited-configmap" } } });
      await vi.waitFor(() => {
        const events = batches.flatMap((b) => b.body.items);
        const created = events.filter((e) => e.verb === "create" && e.objectRef?.resource === "configmaps" && e.objectRef.name === "audited-configmap");
        expect(created).toHaveLength(1);
      }, { timeout: 30_000, interval: 250 });
      expect(batches[0]!.body).toMatchObject({ kind: "EventList", apiVersion: "audit.k8s.io/v1" });
      expect(batches.map((b) => b.auth)).toEqual(batches.map(() => "Bearer audit-token"));
    } finally {
      await cp.stop();
      sink.close();
      await rm(sinkDir, { recursive: true, force: true });
    }
  });

  it("leaves no process behind when the process that started it is killed", async () => {
    const main = spawn(process.execPath, [join(import.meta.dirname, "../controlplane/main.ts")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    main.stdout.on("data", (d: Buffer) => (out += d.toString()));
    main.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const dir = await vi.waitFor(() => {
      const m = /data directory: (\S+)/.exec(out);
      if (!m || !out.includes("is running")) throw new Error(`waiting for the control plane:\n${out}`);
      return m[1]!;
    }, { timeout: 120_000, interval: 250 });
    expect(processesUsing(dir).length).toBeGreaterThanOrEqual(3);
    main.kill("SIGKILL");
    await vi.waitFor(() => expect(processesUsing(dir)).toEqual([]), { timeout: 20_000, interval: 250 });
    await rm(dir, { recursive: true, force: true });
  });
});
