// kube-apiserver's audit webhook pointed at the detector (https, Bearer ingest token): kubectl actions become incidents.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, it, vi } from "vitest";
import type { RunningDetector } from "../../detector/detector.ts";
import type { Incident } from "../../detector/incidents/incident.ts";
import { controlPlaneBinaries } from "../controlplane/binaries.ts";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { TestPki } from "../controlplane/pki.ts";
import { ingestTokens, startTestDetector, writeDetectorFiles, type DetectorFiles } from "../detector/detectorHarness.ts";
import { describeCluster, kubectl } from "../support/cluster.ts";

const privilegedPod = `apiVersion: v1
kind: Pod
metadata: {name: node-shell, namespace: default}
spec:
  containers:
  - name: shell
    image: registry.example/busybox:1
    securityContext: {privileged: true}
  volumes:
  - name: host
    hostPath: {path: /}
`;

describeCluster("audit webhook into the detector", () => {
  let dir: string;
  let files: DetectorFiles;
  let detector: RunningDetector;
  let cp: ControlPlane;
  let devUser: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "minixdr-audit-"));
    const pki = await TestPki.create(dir);
    const serving = await pki.serving("detector");
    files = await writeDetectorFiles();
    detector = await startTestDetector(files, { tls: { cert: await readFile(serving.cert), key: await readFile(serving.key) }, anomalyModel: undefined });
    const binaries = await controlPlaneBinaries({ build: false });
    cp = await ControlPlane.start({
      binaries,
      auditWebhook: { url: `${detector.url}/api/v1/ingest/k8s-audit`, token: ingestTokens.default, caFile: pki.ca.cert },
    });
    devUser = await cp.kubeconfigForUser("dev-user", ["developers"]);
  }, 120_000);

  afterAll(async () => {
    await cp?.stop();
    await detector?.close();
    await files?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const as = (kubeconfig: string, args: string[], input?: string) =>
    kubectl(args, { kubeconfig, ...(input !== undefined ? { input } : {}) }).then(() => "ok", (err: { stderr?: string }) => err.stderr ?? "failed");

  const incidents = async (): Promise<Incident[]> => (await detector.repository.listIncidents("default", { limit: 200, offset: 0 })).items;

  it("raises incidents for a non-admin reading secrets, a privileged hostPath pod and a cluster-admin binding", async () => {
    const admin = cp.kubeconfigPath;
    // The admin lets dev-user read secrets everywhere (an over-broad grant, as happens), then dev-user does.
    expect(await as(admin, ["create", "clusterrole", "secret-reader", "--verb=get,list", "--resource=secrets"])).toBe("ok");
    expect(await as(admin, ["create", "clusterrolebinding", "dev-secret-reader", "--clusterrole=secret-reader", "--user=dev-user"])).toBe("ok");
    await vi.waitFor(async () => expect(await as(devUser, ["get", "secrets", "--all-namespaces"])).toBe("ok"), { timeout: 20_000, interval: 500 });
    // The ServiceAccount admission plugin needs "default" in the namespace before a pod can be created.
    await vi.waitFor(async () => expect(await as(admin, ["get", "serviceaccount", "default", "-n", "default"])).toBe("ok"), { timeout: 30_000, interval: 500 });
    expect(await as(admin, ["apply", "-f", "-"], privilegedPod)).toBe("ok");
    expect(await as(admin, ["create", "clusterrolebinding", "backdoor", "--clusterrole=cluster-admin", "--user=mallory"])).toBe("ok");

    await vi.waitFor(async () => {
      const byKey = (await incidents()).map((i) => `${i.detectionKey} ${i.actor}`);
      expect(byKey).toEqual(expect.arrayContaining(["T1552.007 dev-user", "T1611 minixdr-admin", "T1098.006 minixdr-admin"]));
    }, { timeout: 30_000, interval: 500 });

    const all = await incidents();
    const secrets = all.find((i) => i.detectionKey === "T1552.007")!;
    expect(secrets).toMatchObject({ sourceIp: "127.0.0.1", techniques: [{ id: "T1552.007", tactic: "Credential Access" }] });
    expect(secrets.summary).toMatch(/dev-user read or listed secrets in \(all namespaces\)/);
    expect(all.find((i) => i.detectionKey === "T1611")!.summary).toMatch(/privileged and hostPath pod\(s\) default\/node-shell/);
    expect(all.find((i) => i.detectionKey === "T1098.006")!.summary).toMatch(/clusterrolebindings backdoor/);
    // Exactly these: the control plane's own identities (bootstrap RBAC, kube-controller-manager and its controllers'
    // ServiceAccounts watching secrets) and the admin's narrower grants raise nothing.
    expect(all.map((i) => `${i.detectionKey} ${i.actor}`).sort()).toEqual(["T1098.006 minixdr-admin", "T1552.007 dev-user", "T1611 minixdr-admin"]);
    // Binding a narrower role is not account manipulation to cluster-admin.
    expect(all.filter((i) => i.detectionKey === "T1098.006")).toHaveLength(1);
    expect(inject("clusterUnavailable")).toBe("");
  });

  it("raises an incident for a role granting every verb on every resource, and for a refused attempt to grant impersonation", async () => {
    const admin = cp.kubeconfigPath;
    expect(await as(admin, ["create", "clusterrole", "everything", "--verb=*", "--resource=*"])).toBe("ok");
    // dev-user may manage Roles in default, but RBAC refuses to let them grant what they do not hold.
    expect(await as(admin, ["create", "role", "role-admin", "-n", "default", "--verb=create,get", "--resource=roles"])).toBe("ok");
    expect(await as(admin, ["create", "rolebinding", "dev-role-admin", "-n", "default", "--role=role-admin", "--user=dev-user"])).toBe("ok");
    await vi.waitFor(async () => expect(await as(devUser, ["auth", "can-i", "create", "roles", "-n", "default"])).toBe("ok"), { timeout: 20_000, interval: 500 });
    expect(await as(devUser, ["create", "role", "sa-user", "-n", "default", "--verb=impersonate", "--resource=serviceaccounts"])).toMatch(/attempting to grant RBAC permissions not currently held/);

    await vi.waitFor(async () => {
      const byKey = (await incidents()).filter((i) => i.detectedBy.rules.includes("k8s-escalating-role")).map((i) => `${i.detectionKey} ${i.actor}`).sort();
      expect(byKey).toEqual(["T1098.006 dev-user", "T1098.006 minixdr-admin"]);
    }, { timeout: 30_000, interval: 500 });
    const all = await incidents();
    // The admin's: the same technique as its cluster-admin binding, one incident.
    expect(all.filter((i) => i.detectionKey === "T1098.006" && i.actor === "minixdr-admin")).toHaveLength(1);
    expect(all.find((i) => i.detectionKey === "T1098.006" && i.actor === "minixdr-admin")!.summary)
      .toBe("minixdr-admin wrote role(s) granting every verb on every resource: clusterroles everything (1 of 1 allowed)");
    const refused = all.find((i) => i.detectionKey === "T1098.006" && i.actor === "dev-user")!;
    expect(refused.summary).toBe("dev-user wrote role(s) granting impersonate: roles default/sa-user (0 of 1 allowed)");
    expect(refused.riskScore).toBe(45);
    // Narrower roles (role-admin, and secret-reader before) raise nothing.
    expect(all.filter((i) => i.detectedBy.rules.includes("k8s-escalating-role"))).toHaveLength(2);
  });

  it("raises incidents for a token minted for another service account and a kubelet command through nodes/proxy, not for reading the kubelet's metrics", async () => {
    const admin = cp.kubeconfigPath;
    const ciBot = await cp.kubeconfigForUser("ci-bot", ["ci"]);
    expect(await as(admin, ["create", "serviceaccount", "deployer", "-n", "default"])).toBe("ok");
    expect(await as(admin, ["create", "role", "token-maker", "-n", "default", "--verb=create", "--resource=serviceaccounts/token"])).toBe("ok");
    expect(await as(admin, ["create", "rolebinding", "ci-token-maker", "-n", "default", "--role=token-maker", "--user=ci-bot"])).toBe("ok");
    expect(await as(admin, ["create", "clusterrole", "node-proxy", "--verb=get,create", "--resource=nodes/proxy"])).toBe("ok");
    expect(await as(admin, ["create", "clusterrolebinding", "ci-node-proxy", "--clusterrole=node-proxy", "--user=ci-bot"])).toBe("ok");
    // A Node object with no kubelet behind it (this control plane runs none): the proxy's answer is an error, after
    // RBAC allowed the request.
    expect(await as(admin, ["apply", "-f", "-"], "apiVersion: v1\nkind: Node\nmetadata: {name: worker-1}\n")).toBe("ok");
    await vi.waitFor(async () => expect(await as(ciBot, ["auth", "can-i", "get", "nodes", "--subresource=proxy"])).toBe("ok"), { timeout: 20_000, interval: 500 });
    await vi.waitFor(async () => expect(await as(ciBot, ["auth", "can-i", "create", "serviceaccounts", "--subresource=token", "-n", "default"])).toBe("ok"), { timeout: 20_000, interval: 500 });

    expect(await as(ciBot, ["create", "token", "deployer", "-n", "default"])).toBe("ok");
    const metrics = await as(ciBot, ["get", "--raw", "/api/v1/nodes/worker-1/proxy/metrics"]);
    const run = await as(ciBot, ["get", "--raw", "/api/v1/nodes/worker-1/proxy/run/default/web/app?cmd=id"]);
    expect({ metrics, run }).not.toMatchObject({ metrics: expect.stringMatching(/forbidden/i) as string, run: expect.stringMatching(/forbidden/i) as string });

    await vi.waitFor(async () => {
      const byKey = (await incidents()).filter((i) => i.actor === "ci-bot").map((i) => i.detectionKey).sort();
      expect(byKey).toEqual(["T1528", "T1609"]);
    }, { timeout: 30_000, interval: 500 });
    const all = (await incidents()).filter((i) => i.actor === "ci-bot");
    const token = all.find((i) => i.detectionKey === "T1528")!;
    expect(token).toMatchObject({ detectedBy: { rules: ["k8s-token-for-another-serviceaccount"] }, techniques: [{ id: "T1528", tactic: "Credential Access" }], riskScore: 65 });
    expect(token.summary).toBe("ci-bot requested token(s) for service account(s) default/deployer (1 of 1 allowed)");
    const command = all.find((i) => i.detectionKey === "T1609")!;
    expect(command.detectedBy.rules).toEqual(["k8s-kubelet-command-via-proxy"]);
    // Only the run request: the metrics read through the same subresource is not a command.
    expect(command.summary).toBe("ci-bot sent 1 kubelet command request(s) through nodes/proxy: run on node worker-1 into default/web (1 allowed)");
    expect(command.riskScore).toBe(80);
  });

  it("sees a privileged pod template in a Deployment, whose body the shipped audit policy logs", async () => {
    const admin = cp.kubeconfigPath;
    const opsUser = await cp.kubeconfigForUser("ops-user", ["operators"]);
    expect(await as(admin, ["create", "role", "deployer", "-n", "default", "--verb=create,get,patch", "--resource=deployments.apps"])).toBe("ok");
    expect(await as(admin, ["create", "rolebinding", "ops-deployer", "-n", "default", "--role=deployer", "--user=ops-user"])).toBe("ok");
    await vi.waitFor(async () => expect(await as(opsUser, ["auth", "can-i", "create", "deployments.apps", "-n", "default"])).toBe("ok"), { timeout: 20_000, interval: 500 });
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: node-agent, namespace: default}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      hostPID: true
      containers:
      - name: agent
        image: registry.example/agent:1
`;
    expect(await as(opsUser, ["apply", "-f", "-"], deployment)).toBe("ok");
    const incident = await vi.waitFor(async () => {
      const found = (await incidents()).find((i) => i.detectionKey === "T1611" && i.actor === "ops-user");
      expect(found).toBeDefined();
      return found!;
    }, { timeout: 30_000, interval: 500 });
    expect(incident.summary).toBe("ops-user created privileged deployments (pod template) default/node-agent (1 admitted)");
  });
});
