// Everyday activity that must raise no incident at all.
import { auditEvent, clusterRoleBindingObject, podObject, roleObject } from "../fixtures/auditRecords.ts";
import { cowrie } from "../fixtures/cowrieRecords.ts";
import { at } from "../fixtures/eventTime.ts";
import { eve } from "../fixtures/suricataRecords.ts";
import type { CorpusScenario } from "./corpusScenario.ts";

const admin = { srcIp: "10.0.8.21", session: "0ff1ce000001" };
const typo = { srcIp: "10.0.8.22", session: "0ff1ce000002" };

export const benignCorpus: CorpusScenario[] = [
  {
    name: "an operator logs in and looks around",
    description: "First-try login, a few harmless commands, logout.",
    batches: [{
      format: "cowrie", encoding: "ndjson",
      records: [
        cowrie.connect(admin, 0), cowrie.clientVersion(admin, 0.5, "SSH-2.0-OpenSSH_9.6"), cowrie.loginSuccess(admin, 2, "ops", "correct horse battery staple"),
        cowrie.command(admin, 10, "uptime"), cowrie.command(admin, 15, "df -h"), cowrie.command(admin, 22, "exit"), cowrie.closed(admin, 23, 23.1),
      ],
    }],
    expect: [],
  },
  {
    name: "a mistyped password",
    description: "Two failures, then the right password.",
    batches: [{
      format: "cowrie", encoding: "ndjson",
      records: [cowrie.loginFailed(typo, 0, "ops", "corect horse"), cowrie.loginFailed(typo, 8, "ops", "correct hrose"), cowrie.loginSuccess(typo, 15, "ops", "correct horse battery staple")],
    }],
    expect: [],
  },
  {
    name: "secrets read in two namespaces an hour apart, replayed in one audit batch",
    description: "Reads 3600 s apart are not 'across namespaces within 600 s', even when one EventList holds both.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "dev@example.com", verb: "get", resource: "secrets", namespace: "team-a", name: "db", requestURI: "/api/v1/namespaces/team-a/secrets/db", code: 200 }),
        auditEvent(3600, { user: "dev@example.com", verb: "get", resource: "secrets", namespace: "team-b", name: "db", requestURI: "/api/v1/namespaces/team-b/secrets/db", code: 200 }),
      ],
    }],
    expect: [],
  },
  {
    name: "the platform starts its own privileged pods",
    description: "The DaemonSet controller creates a kube-proxy pod (privileged, hostPath) and a kubelet its static etcd pod.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, {
          user: "system:serviceaccount:kube-system:daemon-set-controller", verb: "create", resource: "pods", namespace: "kube-system", requestURI: "/api/v1/namespaces/kube-system/pods", code: 201,
          requestObject: { ...podObject("x", { privileged: true, hostPath: "/lib/modules" }), metadata: { generateName: "kube-proxy-" } }, sourceIp: "10.0.8.2",
        }),
        auditEvent(2, {
          user: "system:node:node-1", groups: ["system:nodes", "system:authenticated"], verb: "create", resource: "pods", namespace: "kube-system", requestURI: "/api/v1/namespaces/kube-system/pods", code: 201,
          requestObject: podObject("etcd-node-1", { hostPath: "/var/lib/etcd" }), sourceIp: "10.0.8.61",
        }),
      ],
    }],
    expect: [],
  },
  {
    name: "monitoring scrapes the kubelets through nodes/proxy, kubelets and pods ask for their own tokens",
    description: "Prometheus reads metrics and stats via nodes/proxy; a kubelet requests its pods' service account tokens; a service account renews its own.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "system:serviceaccount:monitoring:prometheus", verb: "get", resource: "nodes", subresource: "proxy", name: "worker-1", requestURI: "/api/v1/nodes/worker-1/proxy/metrics/cadvisor", code: 200 }),
        auditEvent(1, { user: "system:serviceaccount:monitoring:prometheus", verb: "get", resource: "nodes", subresource: "proxy", name: "worker-1", requestURI: "/api/v1/nodes/worker-1/proxy/stats/summary", code: 200 }),
        auditEvent(2, { user: "system:node:worker-1", groups: ["system:nodes", "system:authenticated"], verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "team-a", name: "default", requestURI: "/api/v1/namespaces/team-a/serviceaccounts/default/token", code: 201 }),
        auditEvent(3, { user: "system:serviceaccount:team-a:builder", verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "team-a", name: "builder", requestURI: "/api/v1/namespaces/team-a/serviceaccounts/builder/token", code: 201 }),
      ],
    }],
    expect: [],
  },
  {
    name: "a developer's kubectl call is refused",
    description: "Three kubectl requests in five minutes, one of them forbidden (get nodes without the right): no attack.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "dev@example.com", verb: "list", resource: "pods", namespace: "team-a", requestURI: "/api/v1/namespaces/team-a/pods?limit=500", code: 200, sourceIp: "10.0.8.70" }),
        auditEvent(20, { user: "dev@example.com", verb: "list", resource: "nodes", requestURI: "/api/v1/nodes?limit=500", code: 403, sourceIp: "10.0.8.70" }),
        auditEvent(40, { user: "dev@example.com", verb: "get", resource: "deployments", apiGroup: "apps", namespace: "team-a", name: "web", requestURI: "/apis/apps/v1/namespaces/team-a/deployments/web", code: 200, sourceIp: "10.0.8.70" }),
      ],
    }],
    expect: [],
  },
  {
    name: "a node joins with kubeadm",
    description: "kubeadm join reads kube-public/cluster-info anonymously (kubeadm's own RoleBinding allows it).",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "system:anonymous", groups: ["system:unauthenticated"], verb: "get", resource: "configmaps", namespace: "kube-public", name: "cluster-info",
        requestURI: "/api/v1/namespaces/kube-public/configmaps/cluster-info", code: 200, sourceIp: "10.0.8.60",
      })],
    }],
    expect: [],
  },
  {
    name: "a browser opening many sites",
    description: "One host reaches 30 different web servers on 443 (and their DNS on 53) within 40 s: many hosts, two ports.",
    batches: [{
      format: "suricata", encoding: "ndjson",
      records: Array.from({ length: 30 }, (_, i) => [
        eve.flow(i, "10.0.8.41", `93.184.216.${10 + i}`, 443, 3_000, 90_000),
        eve.flow(i, "10.0.8.41", `10.0.0.${2 + (i % 3)}`, 53, 80, 200),
      ]).flat(),
    }],
    expect: [],
  },
  {
    name: "ordinary web and DNS traffic",
    description: "An office host browsing: a handful of flows to 443/80/53, HTTP 200s, an engine stats record.",
    batches: [{
      format: "suricata", encoding: "ndjson",
      records: [
        ...[443, 443, 80, 53, 443, 53].map((port, i) => eve.flow(i * 20, "10.0.8.40", i % 2 ? "93.184.216.34" : "151.101.1.69", port, 2_400 + i * 100, 48_000)),
        eve.http(30, "10.0.8.40", "10.0.0.80", "/index.html", 200),
        eve.http(31, "10.0.8.40", "10.0.0.80", "/static/app.js", 200),
        eve.ssh(40, "10.0.8.40", "10.0.0.5", "OpenSSH_9.6"),
        eve.stats(60),
      ],
    }],
    expect: [],
  },
  {
    name: "office workstations browsing, a missing /favicon.ico now and then",
    description: "Two workstations over 40 minutes, a batch every 5: DNS and TLS flows, some intranet pages, and windows whose only HTTP request is a /favicon.ico 404 (alone, or beside a page). A share of one request is no 100% error rate (a hunt found 471 anomaly incidents a day from such windows).",
    batches: Array.from({ length: 8 }, (_, w) => ({
      format: "suricata" as const, encoding: "ndjson" as const,
      records: ["10.0.8.71", "10.0.8.72"].flatMap((host, h) => {
        const t = w * 300 + h * 7;
        const flows = [53, 443, 443, 53, 443, 443, 53].slice(0, 3 + ((w + h) % 5)).map((port, i) =>
          eve.flow(t + i * 30, host, port === 53 ? "10.0.0.2" : `151.101.${w + 1}.${10 + i}`, port, port === 53 ? 80 : 2_400 + i * 100, port === 53 ? 200 : 48_000));
        const pages = [
          [eve.http(t + 100, host, "10.0.0.80", "/favicon.ico", 404)],
          [eve.http(t + 100, host, "10.0.0.80", "/wiki/Start", 200), eve.http(t + 101, host, "10.0.0.80", "/favicon.ico", 404)],
          [eve.http(t + 100, host, "10.0.0.80", "/timesheet", 200)],
          [],
        ][(w + h) % 4]!;
        return [...flows, ...pages];
      }),
    })),
    expect: [],
  },
  {
    name: "a backup below the transfer threshold",
    description: "A nightly backup of 60 MiB in one flow.",
    batches: [{ format: "suricata", encoding: "array", records: [eve.flow(0, "10.0.8.50", "10.0.9.10", 873, 60 * 1048576, 20_000)] }],
    expect: [],
  },
  {
    name: "control plane and developers doing their jobs",
    description: "System identities reading secrets and bootstrapping RBAC, a developer reading one secret in their namespace, creating a restricted pod, a health probe by anonymous.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "system:kube-controller-manager", verb: "list", resource: "secrets", requestURI: "/api/v1/secrets?limit=500", code: 200, sourceIp: "127.0.0.1" }),
        auditEvent(1, { user: "system:serviceaccount:kube-system:generic-garbage-collector", verb: "watch", resource: "secrets", requestURI: "/api/v1/secrets?watch=true", code: 200, sourceIp: "127.0.0.1" }),
        auditEvent(2, {
          user: "system:apiserver", verb: "create", resource: "clusterrolebindings", apiGroup: "rbac.authorization.k8s.io", name: "cluster-admin",
          requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", code: 201, sourceIp: "127.0.0.1",
          requestObject: clusterRoleBindingObject("cluster-admin", "cluster-admin", "system:masters"),
        }),
        // The aggregation controller folds every verb of a CRD's role into admin; an admin makes a narrow role.
        auditEvent(3, {
          user: "system:serviceaccount:kube-system:clusterrole-aggregation-controller", verb: "update", resource: "clusterroles", apiGroup: "rbac.authorization.k8s.io", name: "admin",
          requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", code: 200, sourceIp: "127.0.0.1",
          requestObject: roleObject("admin", [{ apiGroups: ["example.com"], resources: ["*"], verbs: ["*"] }, { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] }]),
        }),
        auditEvent(5, {
          user: "admin@example.com", verb: "create", resource: "clusterroles", apiGroup: "rbac.authorization.k8s.io", name: "pod-reader",
          requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterroles", code: 201,
          requestObject: roleObject("pod-reader", [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] }, { apiGroups: ["apps"], resources: ["*"], verbs: ["get"] }]),
        }),
        auditEvent(10, { user: "dev-user", verb: "get", resource: "secrets", namespace: "team-a", name: "app-config", requestURI: "/api/v1/namespaces/team-a/secrets/app-config", code: 200 }),
        auditEvent(12, { user: "dev-user", verb: "create", resource: "pods", namespace: "team-a", requestURI: "/api/v1/namespaces/team-a/pods", code: 201, requestObject: podObject("web") }),
        auditEvent(13, { user: "dev-user", verb: "list", resource: "pods", namespace: "team-a", requestURI: "/api/v1/namespaces/team-a/pods?limit=500", code: 200 }),
        auditEvent(20, { user: "system:anonymous", groups: ["system:unauthenticated"], verb: "get", requestURI: "/readyz", code: 200, sourceIp: "10.20.0.1" }),
      ],
    }],
    expect: [],
  },
  {
    name: "generic events from a login portal",
    description: "Successful SSO logins and one failure, in the generic schema.",
    batches: [{
      format: "events", encoding: "ndjson",
      records: [
        { timestamp: at(0), type: "auth.success", sourceIp: "10.0.8.60", username: "alice", sensor: "sso" },
        { timestamp: at(40), type: "auth.failure", sourceIp: "10.0.8.60", username: "alice", sensor: "sso" },
        { timestamp: at(50), type: "auth.success", sourceIp: "10.0.8.60", username: "alice", sensor: "sso" },
      ],
    }],
    expect: [],
  },
];
