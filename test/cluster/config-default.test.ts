// config/: what `kubectl apply --server-side -k config/default` installs, checked by the real API server
// (server-side dry-run, with Pod Security admission), and config/prometheus rendered and matched against the real code.
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { operatorClusterReadsRole, operatorClusterRole, operatorNamespacedRole } from "../../operator/api/rbac.ts";
import { miniXdrCrd } from "../../operator/api/crd.ts";
import { render } from "../../operator/render/render.ts";
import { loadSettings } from "../../operator/runtime/settings.ts";
import { buildServer } from "../../operator/runtime/server.ts";
import { OperatorMetrics } from "../../operator/runtime/metrics.ts";
import { adminKubeConfig, describeCluster, kubectl } from "../support/cluster.ts";
import { exampleMiniXdr } from "../support/minixdr.ts";
import { installMiniXdrCrd } from "../support/operator.ts";
import * as k8s from "@kubernetes/client-node";

const root = join(import.meta.dirname, "../..");
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };
const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj).filter(Boolean);
const kustomize = async (dir: string) => docs((await kubectl(["kustomize", join(root, dir)])).stdout);
const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not in ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
  return o;
};
const namespace = "minixdr-system";

/** Runs kubectl with `input` on stdin; returns the outcome instead of throwing. */
async function kubectlResult(args: string[], input: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const r = await kubectl(args, { input });
    return { ok: true, ...r };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}

describeCluster("config/default", () => {
  let rendered: Obj[];
  beforeAll(async () => {
    rendered = await kustomize("config/default");
    // Server-side dry-run does not create the namespace it would create, so the namespaced objects need it to exist:
    // apply the rendered Namespace (and ServiceAccount, which pod admission looks up) for real.
    const real = rendered.filter((o) => o.kind === "Namespace" || o.kind === "ServiceAccount");
    await kubectl(["apply", "--server-side", "--field-manager=config-default-test", "-f", "-"], { input: real.map((o) => JSON.stringify(o)).join("\n") });
  });
  afterAll(async () => {
    await adminKubeConfig().makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it("renders the namespace, CRD, RBAC and the operator, and nothing from config/prometheus", () => {
    expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ClusterRole/minixdr-editor", "ClusterRole/minixdr-operator", "ClusterRole/minixdr-viewer", "ClusterRoleBinding/minixdr-operator",
      "CustomResourceDefinition/minixdrs.xdr.minixdr.io", "Deployment/minixdr-operator", "Namespace/minixdr-system",
      "NetworkPolicy/minixdr-operator", "PodDisruptionBudget/minixdr-operator", "Role/minixdr-operator-leader-election", "RoleBinding/minixdr-operator-leader-election",
      "Service/minixdr-operator-metrics", "ServiceAccount/minixdr-operator",
    ]);
    for (const o of rendered) if (!["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"].includes(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace);
    expect(find(rendered, "Namespace", namespace).metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted" });
    // The CRD and ClusterRole are today's generated ones (config/crd/bases and config/rbac/role.yaml are current).
    expect(find(rendered, "CustomResourceDefinition", "minixdrs.xdr.minixdr.io").spec).toEqual(miniXdrCrd().spec);
    expect(find(rendered, "ClusterRole", "minixdr-operator").rules).toEqual(operatorClusterRole().rules);
  });

  it("is accepted by the API server (kubectl apply --server-side --dry-run=server) without Pod Security warnings", async () => {
    const r = await kubectlResult(["apply", "--server-side", "--dry-run=server", "--field-manager=config-default-test", "-o", "json", "-f", "-"],
      rendered.map((o) => JSON.stringify(o)).join("\n"));
    expect(r.stderr).not.toMatch(/error|violate PodSecurity/i);
    expect(r.ok).toBe(true);
    const out = JSON.parse(r.stdout) as { items?: Obj[] } & Obj;
    const items = out.items ?? [out];
    expect(items.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort());
    // Defaults filled in by the server show the objects were really admitted, not just echoed.
    expect(find(items, "Deployment", "minixdr-operator").spec.template.spec.dnsPolicy).toBe("ClusterFirst");
  });

  it("binds the operator's ServiceAccount to the generated ClusterRole and the leader-election Role", () => {
    const deployment = find(rendered, "Deployment", "minixdr-operator");
    const sa = { kind: "ServiceAccount", name: deployment.spec.template.spec.serviceAccountName, namespace };
    expect(sa.name).toBe(find(rendered, "ServiceAccount", "minixdr-operator").metadata.name);
    const crb = find(rendered, "ClusterRoleBinding", "minixdr-operator");
    expect(crb.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: (operatorClusterRole().metadata as { name: string }).name });
    expect(crb.subjects).toEqual([sa]);
    const rb = find(rendered, "RoleBinding", "minixdr-operator-leader-election");
    expect(rb.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: find(rendered, "Role", "minixdr-operator-leader-election").metadata.name });
    expect(rb.subjects).toEqual([sa]);
  });

  it("runs two leader-electing replicas whose flags, identity and probes the operator understands", async () => {
    const d = find(rendered, "Deployment", "minixdr-operator");
    expect(d.spec.replicas).toBe(2);
    const c = d.spec.template.spec.containers[0];
    expect(c.args[0]).toBe("operator");
    const env = Object.fromEntries(c.env.map((e: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }) => [e.name, e.valueFrom.fieldRef.fieldPath]));
    expect(env).toEqual({ POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" });
    const settings = loadSettings(c.args.slice(1), { POD_NAME: "minixdr-operator-7d9-abc", POD_NAMESPACE: namespace });
    expect(settings).toMatchObject({ leaderElect: true, leaseNamespace: namespace, leaderIdentity: "minixdr-operator-7d9-abc" });
    const port = c.ports.find((p: { name: string }) => p.name === c.readinessProbe.httpGet.port);
    expect(port.containerPort).toBe(settings.metricsPort);
    // The probe paths answer 200 on the operator's real server (a follower, informers synced).
    const server = buildServer({ metrics: new OperatorMetrics({ defaultMetrics: false }), informers: () => [], isLeader: () => false });
    await server.listen({ port: 0, host: "127.0.0.1" });
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      expect(probe.httpGet.port).toBe(port.name);
      expect((await fetch(`http://127.0.0.1:${server.port}${probe.httpGet.path}`)).status, probe.httpGet.path).toBe(200);
    }
    await server.close();
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    const svc = find(rendered, "Service", "minixdr-operator-metrics");
    expect(svc.spec.ports[0].targetPort).toBe(port.name);
    expect(d.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    const pdb = find(rendered, "PodDisruptionBudget", "minixdr-operator");
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(d.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    // The NetworkPolicy selects the operator's pods, admits only the port its probes and metrics use (named as in the
    // container), and lets it reach nothing but the API server's ports.
    const np = find(rendered, "NetworkPolicy", "minixdr-operator");
    expect(d.spec.template.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels);
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(np.spec.ingress).toEqual([{ ports: [{ port: port.name, protocol: "TCP" }] }]);
    expect(np.spec.egress).toEqual([{ ports: [{ port: 443, protocol: "TCP" }, { port: 6443, protocol: "TCP" }] }]);
  });

  it("has a pod template that Pod Security 'restricted' admits, while the same pod without its security context is refused", async () => {
    const d = find(rendered, "Deployment", "minixdr-operator");
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "operator-template", namespace, labels: d.spec.template.metadata.labels }, spec: d.spec.template.spec };
    const admitted = await kubectlResult(["create", "--dry-run=server", "-o", "name", "-f", "-"], JSON.stringify(pod));
    expect(admitted.stderr).toBe("");
    expect(admitted.stdout.trim()).toBe("pod/operator-template");
    const { securityContext: _pod, ...podSpec } = pod.spec;
    const loose = { ...pod, spec: { ...podSpec, containers: podSpec.containers.map(({ securityContext: _c, ...c }: Obj) => c) } };
    const refused = await kubectlResult(["create", "--dry-run=server", "-f", "-"], JSON.stringify(loose));
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted/);
    // No fixed uid, gid or fsGroup, which OpenShift's restricted-v2 refuses: the image's user applies elsewhere.
    expect(JSON.stringify(d.spec.template.spec)).not.toMatch(/runAsUser|runAsGroup|fsGroup/);
  });

  it("config/namespaced: the same install, the operator's rights a Role in the namespace it runs in and watches, which the API server accepts", async () => {
    const objs = await kustomize("config/namespaced");
    const names = (list: Obj[]) => list.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    // config/default's objects but its ClusterRole and binding, and a Role, its binding and the cluster-scoped reads.
    expect(names(objs)).toEqual([...names(rendered).filter((n) => n !== "ClusterRole/minixdr-operator" && n !== "ClusterRoleBinding/minixdr-operator"),
      "ClusterRole/minixdr-operator-cluster-reads", "ClusterRoleBinding/minixdr-operator-cluster-reads", "Role/minixdr-operator", "RoleBinding/minixdr-operator"].sort());
    const role = find(objs, "Role", "minixdr-operator");
    expect(role.metadata.namespace).toBe(namespace);
    expect(role.rules).toEqual(operatorNamespacedRole().rules);
    expect(find(objs, "ClusterRole", "minixdr-operator-cluster-reads").rules).toEqual(operatorClusterReadsRole().rules);
    const sa = { kind: "ServiceAccount", name: "minixdr-operator", namespace };
    expect(find(objs, "RoleBinding", "minixdr-operator")).toMatchObject({ roleRef: { kind: "Role", name: "minixdr-operator" }, subjects: [sa] });
    expect(find(objs, "ClusterRoleBinding", "minixdr-operator-cluster-reads")).toMatchObject({ roleRef: { kind: "ClusterRole", name: "minixdr-operator-cluster-reads" }, subjects: [sa] });
    // It watches the namespace its pods run in: the setting read from the downward API, as the operator loads it.
    const c = find(objs, "Deployment", "minixdr-operator").spec.template.spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }) => [e.name, e.valueFrom.fieldRef.fieldPath]));
    expect(env).toEqual({ POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace", MINIXDR_WATCH_NAMESPACE: "metadata.namespace" });
    expect(loadSettings(c.args.slice(1), { POD_NAME: "p", POD_NAMESPACE: namespace, MINIXDR_WATCH_NAMESPACE: namespace }).watchNamespace).toBe(namespace);
    const r = await kubectlResult(["apply", "--server-side", "--dry-run=server", "--field-manager=config-default-test", "-o", "name", "-f", "-"], objs.map((o) => JSON.stringify(o)).join("\n"));
    expect(r.stderr).not.toMatch(/error|violate PodSecurity/i);
    expect(r.ok).toBe(true);
  });

  it("config/namespaced in another namespace: docs/install.md's overlay moves every namespaced object and every binding's subject there", async () => {
    const install = readFileSync(join(root, "docs/install.md"), "utf8");
    const overlay = /```yaml\n# security-operator\/kustomization.yaml\n([\s\S]*?)```/.exec(install)?.[1];
    expect(overlay, "the overlay in docs/install.md").toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), "minixdr-overlay-"));
    try {
      await mkdir(join(dir, "security-operator"));
      // The docs' overlay sits beside config/; here its path to config/namespaced is the one from this directory.
      await writeFile(join(dir, "security-operator/kustomization.yaml"), overlay!.replace("../config/namespaced", relative(join(dir, "security-operator"), join(root, "config/namespaced"))));
      const objs = docs((await kubectl(["kustomize", join(dir, "security-operator")])).stdout);
      expect(objs.filter((o) => o.kind === "Namespace")).toEqual([]);
      for (const o of objs) {
        if (!["CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"].includes(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe("security");
        for (const subject of (o.subjects ?? []) as { namespace: string; name: string }[]) expect(subject, `${o.kind}/${o.metadata.name}`).toEqual({ kind: "ServiceAccount", name: "minixdr-operator-security", namespace: "security" });
      }
      expect(find(objs, "ClusterRoleBinding", "minixdr-operator-cluster-reads-security").roleRef.name).toBe("minixdr-operator-cluster-reads-security");
      expect(find(objs, "Deployment", "minixdr-operator-security").spec.template.spec.serviceAccountName).toBe("minixdr-operator-security");
      expect(find(objs, "CustomResourceDefinition", "minixdrs.xdr.minixdr.io")).toBeDefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives cluster users read access (view) and write access (edit) to MiniXdr objects through aggregation labels", async () => {
    const viewer = find(rendered, "ClusterRole", "minixdr-viewer");
    const editor = find(rendered, "ClusterRole", "minixdr-editor");
    expect(viewer.metadata.labels).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-view": "true" });
    expect(editor.metadata.labels).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-edit": "true" });
    expect(editor.metadata.labels).not.toHaveProperty("rbac.authorization.k8s.io/aggregate-to-view");
    // Bound directly (this control plane runs no clusterrole-aggregation controller), the roles grant what they promise.
    await kubectl(["apply", "--server-side", "--field-manager=config-default-test", "-f", "-"], { input: [viewer, editor].map((o) => JSON.stringify(o)).join("\n") });
    for (const [user, role] of [["vera", "minixdr-viewer"], ["eddie", "minixdr-editor"]] as const) {
      await kubectl(["create", "rolebinding", `${user}-${role}`, "-n", namespace, `--clusterrole=${role}`, `--user=${user}`]);
    }
    const can = async (user: string, verb: string, ...extra: string[]) =>
      (await kubectlResult(["auth", "can-i", verb, "minixdrs.xdr.minixdr.io", ...extra, "-n", namespace, `--as=${user}`], "")).stdout.trim();
    expect(await can("vera", "list")).toBe("yes");
    expect(await can("vera", "watch")).toBe("yes");
    expect(await can("vera", "create")).toBe("no");
    expect(await can("eddie", "create")).toBe("yes");
    expect(await can("eddie", "delete")).toBe("yes");
    expect(await can("eddie", "get")).toBe("yes");
    expect(await can("eddie", "patch", "--subresource=status")).toBe("no");
  });
});

describeCluster("config/prometheus", () => {
  it("renders ServiceMonitors that select the operator's metrics Service and every detector Service the operator creates", async () => {
    const objs = await kustomize("config/prometheus");
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(["PrometheusRule/minixdr", "ServiceMonitor/minixdr-detectors", "ServiceMonitor/minixdr-operator"]);
    for (const o of objs) expect(o.apiVersion).toBe("monitoring.coreos.com/v1");

    const operatorSvc = find(await kustomize("config/default"), "Service", "minixdr-operator-metrics");
    const sm = find(objs, "ServiceMonitor", "minixdr-operator");
    expect(operatorSvc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.namespaceSelector.matchNames).toContain(operatorSvc.metadata.namespace);
    expect(operatorSvc.spec.ports.map((p: { name: string }) => p.name)).toContain(sm.spec.endpoints[0].port);
    expect(sm.spec.endpoints[0].honorLabels).toBe(true);

    // The Service the operator renders for an example's detector is selected, on its metrics port.
    const detectorSm = find(objs, "ServiceMonitor", "minixdr-detectors");
    const detectorSvc = render(exampleMiniXdr("basic.yaml", "team-a")).map((c) => c.object).find((o) => o.kind === "Service" && o.metadata.name === "basic-detector")!;
    expect(detectorSvc.metadata.labels).toMatchObject(detectorSm.spec.selector.matchLabels);
    expect(detectorSm.spec.namespaceSelector).toEqual({ any: true });
    const metricsPort = (detectorSvc.spec as { ports: { name: string; port: number }[] }).ports.find((p) => p.name === detectorSm.spec.endpoints[0].port);
    expect(metricsPort?.port).toBe(9090);
    // The alerts' job labels are the ones the relabelings set.
    const jobs = objs.filter((o) => o.kind === "ServiceMonitor").map((o) => o.spec.endpoints[0].relabelings.find((r: { targetLabel: string }) => r.targetLabel === "job").replacement);
    const exprs = find(objs, "PrometheusRule", "minixdr").spec.groups.flatMap((g: { rules: { expr: string }[] }) => g.rules.map((r) => r.expr)).join("\n");
    for (const job of exprs.matchAll(/job="([^"]+)"/g)) expect(jobs).toContain(job[1]);
  });
});

describeCluster("config/argocd", () => {
  it("renders an argocd-cm carrying health.lua under the key Argo CD reads for xdr.minixdr.io/MiniXdr, which the API server accepts", async () => {
    const objs = await kustomize("config/argocd");
    expect(objs.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual(["ConfigMap/argocd/argocd-cm"]);
    expect(objs[0]!.data).toEqual({ "resource.customizations.health.xdr.minixdr.io_MiniXdr": readFileSync(join(root, "config/argocd/health.lua"), "utf8") });
    const cm = { ...objs[0]!, metadata: { ...objs[0]!.metadata, namespace: "default" } };
    const r = await kubectlResult(["apply", "--server-side", "--dry-run=server", "--field-manager=minixdr", "-f", "-"], JSON.stringify(cm));
    expect(r.stderr).toBe("");
    expect(r.ok).toBe(true);
  });
});

describeCluster("config/samples", () => {
  it("renders examples/basic.yaml, which the API server accepts in the namespace it is applied to", async () => {
    await installMiniXdrCrd();
    const objs = await kustomize("config/samples");
    expect(objs).toEqual(docs(readFileSync(join(root, "examples/basic.yaml"), "utf8")));
    expect(objs[0]!.metadata.namespace).toBeUndefined();
    const r = await kubectlResult(["apply", "--server-side", "--dry-run=server", "--field-manager=config-samples-test", "-n", "default", "-o", "name", "-f", "-"], JSON.stringify(objs[0]));
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("minixdr.xdr.minixdr.io/basic");
  });
});
