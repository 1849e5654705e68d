// Normalization of each format: event time from the source's timestamp, fields mapped, envelopes unwrapped, errors named.
import { describe, expect, it } from "vitest";
import { auditEvent, eventList, podObject } from "../../test/detector/fixtures/auditRecords.ts";
import { cowrie } from "../../test/detector/fixtures/cowrieRecords.ts";
import { eve } from "../../test/detector/fixtures/suricataRecords.ts";
import { ingestFormats } from "./formats.ts";
import { maxEventTextLength, normalizeBatch } from "./normalizeBatch.ts";

const receivedAt = Date.parse("2024-06-01T00:00:00Z");
const normalize = (format: string, body: string) => normalizeBatch(ingestFormats[format]!, body, { tenant: "default", receivedAt });

describe("Cowrie", () => {
  it("takes event time from the record's timestamp, not from arrival", () => {
    const { events } = normalize("cowrie", JSON.stringify(cowrie.loginFailed({ srcIp: "203.0.113.1", session: "s" }, 12.5, "root", "hunter2")));
    expect(events[0]).toMatchObject({ kind: "auth.failure", time: Date.parse("2024-05-14T10:00:12.500Z"), receivedAt, sourceIp: "203.0.113.1", username: "root", password: "hunter2", sourceType: "cowrie.login.failed" });
  });

  it("reads NDJSON and maps downloads and commands", () => {
    const s = { srcIp: "203.0.113.2", session: "s2" };
    const body = [cowrie.command(s, 1, "wget http://x/y"), cowrie.download(s, 2, "http://x/y", "ab".repeat(32))].map((r) => JSON.stringify(r)).join("\n");
    expect(normalize("cowrie", body).events.map((e) => [e.kind, e.command ?? e.url])).toEqual([["command", "wget http://x/y"], ["file.download", "http://x/y"]]);
  });

  it("gives a record without an id of its own the same id in every version, so a batch retried across an upgrade is a duplicate", () => {
    const record = { eventid: "cowrie.login.failed", timestamp: "2024-05-14T10:15:32.123456Z", src_ip: "203.0.113.9", session: "a1b2", username: "root", password: "123456" };
    const other = { ...record, timestamp: "2024-05-14T10:15:33.000000Z" };
    // Records alternating between two timestamps: each event keeps its own time and id.
    const { events } = normalize("cowrie", [record, other, record].map((r) => JSON.stringify(r)).join("\n"));
    expect(events.map((e) => [e.id, e.time])).toEqual([
      ["cowrie:018f7699a61b-381ce26dcc60df3615a6f9754f1de3b9", Date.parse("2024-05-14T10:15:32.123Z")],
      ["cowrie:018f7699a988-" + events[1]!.id.slice(-32), Date.parse("2024-05-14T10:15:33.000Z")],
      ["cowrie:018f7699a61b-381ce26dcc60df3615a6f9754f1de3b9", Date.parse("2024-05-14T10:15:32.123Z")],
    ]);
  });

  it("keeps unknown Cowrie event ids as kind other", () => {
    const { events, issues } = normalize("cowrie", JSON.stringify({ eventid: "cowrie.direct-tcpip.request", timestamp: "2024-05-14T10:00:00.000000Z", src_ip: "203.0.113.3", session: "x", dst_ip: "10.0.0.1", dst_port: 25 }));
    expect(issues).toEqual([]);
    expect(events[0]?.kind).toBe("other");
  });

  it("accepts the host name a port-forwarding (direct-tcpip) record names as its destination, keeping addresses only as destIp", () => {
    const forward = (dst: string) => JSON.stringify({ eventid: "cowrie.direct-tcpip.request", timestamp: "2024-05-14T10:00:00.000000Z", src_ip: "203.0.113.50", session: "a1b2", dst_ip: dst, dst_port: 443, src_port: 0 });
    const byName = normalize("cowrie", forward("ya.ru"));
    expect(byName.issues).toEqual([]);
    expect(byName.events[0]).toMatchObject({ kind: "other", sourceIp: "203.0.113.50", destPort: 443 });
    expect(byName.events[0]?.destIp).toBeUndefined();
    expect(normalize("cowrie", forward("2001:DB8::1")).events[0]?.destIp).toBe("2001:db8::1");
  });

  it("says which event id a missing field is required for", () => {
    expect(normalize("cowrie", JSON.stringify({ eventid: "cowrie.login.failed", timestamp: "2024-05-14T10:00:00Z", src_ip: "203.0.113.1", username: "root" })).issues)
      .toEqual([{ item: 0, field: "password", message: "is required for cowrie.login.failed" }]);
  });
});

describe("Suricata EVE", () => {
  it("reads +0000 offsets and flow byte counts", () => {
    const { events } = normalize("suricata", JSON.stringify(eve.flow(30, "10.0.0.9", "198.51.100.1", 443, 5000, 700)));
    expect(events[0]).toMatchObject({ kind: "network.flow", time: Date.parse("2024-05-14T10:00:30Z"), bytesOut: 5000, bytesIn: 700, destPort: 443 });
  });

  it("ignores engine stats records without failing the batch", () => {
    const body = [eve.stats(0), eve.alert(1, "192.0.2.1", "10.0.0.1", 22, "ET SCAN x", 1, "c", 2)].map((r) => JSON.stringify(r)).join("\n");
    const result = normalize("suricata", body);
    expect(result).toMatchObject({ ignored: 1, issues: [] });
    expect(result.events[0]?.alert).toMatchObject({ signature: "ET SCAN x", severity: 2 });
    // Whatever endpoint fields a stats record carries: it is about the engine, not about traffic from that address.
    expect(normalize("suricata", JSON.stringify({ ...eve.stats(0), src_ip: "192.0.2.1" }))).toMatchObject({ events: [], ignored: 1, issues: [] });
    // Other types with an endpoint are kept (as kind "other"), and ignored without one: there is no source to file them under.
    expect(normalize("suricata", JSON.stringify({ timestamp: "2024-05-14T10:00:00.000000+0000", event_type: "dns", src_ip: "192.0.2.1" })).events)
      .toMatchObject([{ kind: "other", sourceType: "dns", sourceIp: "192.0.2.1" }]);
    expect(normalize("suricata", JSON.stringify({ timestamp: "2024-05-14T10:00:00.000000+0000", event_type: "dns" }))).toMatchObject({ events: [], ignored: 1 });
  });

  it("names the missing fields of an alert", () => {
    const { issues } = normalize("suricata", JSON.stringify({ timestamp: "2024-05-14T10:00:00.000000+0000", event_type: "alert", src_ip: "192.0.2.1" }));
    expect(issues).toEqual([{ item: 0, field: "alert", message: "is required for event_type alert" }]);
  });

  it("accepts alerts as Suricata writes them: without addresses (decoder events, ignored), with any rule priority, with an empty signature", () => {
    const decoder = { timestamp: "2024-05-14T10:00:00.000000+0000", in_iface: "eth0", event_type: "alert",
      alert: { action: "allowed", gid: 1, signature_id: 2200119, rev: 2, signature: "SURICATA Ethernet unknown ethertype", category: "Generic Protocol Command Decode", severity: 3 } };
    const priority10 = eve.alert(1, "192.0.2.1", "10.0.0.1", 22, "LOCAL policy", 9000001, "Misc activity", 10);
    const noMsg = { ...eve.alert(2, "192.0.2.1", "10.0.0.1", 22, "", 9000002, "c", 3) };
    const result = normalize("suricata", [decoder, priority10, noMsg].map((r) => JSON.stringify(r)).join("\n"));
    expect(result).toMatchObject({ issues: [], ignored: 1 });
    expect(result.events.map((e) => [e.alert?.signature, e.alert?.severity])).toEqual([["LOCAL policy", 10], ["sid:9000002", 3]]);
  });

  it("accepts flow ids beyond 2^53 (other EVE producers write them; the detector does not use them)", () => {
    const body = JSON.stringify(eve.flow(30, "10.0.0.9", "198.51.100.1", 443, 5000, 700)).replace(/"flow_id":\d+/, '"flow_id":18446744073709551615');
    expect(normalize("suricata", body)).toMatchObject({ issues: [], events: [{ kind: "network.flow" }] });
  });
});

describe("Kubernetes audit", () => {
  it("unwraps an EventList, reads the pod spec and skips RequestReceived", () => {
    const create = auditEvent(0, { user: "dev", verb: "create", resource: "pods", namespace: "ns1", requestURI: "/api/v1/namespaces/ns1/pods", code: 201, requestObject: podObject("p", { privileged: true, hostPath: "/var/run" }) });
    const received = { ...create, stage: "RequestReceived" };
    const { events, ignored } = normalize("k8s-audit", JSON.stringify(eventList([create, received])));
    expect(ignored).toBe(1);
    expect(events[0]).toMatchObject({ actor: "dev", sourceIp: "10.20.0.15", time: Date.parse("2024-05-14T10:00:00Z"), k8s: { verb: "create", resource: "pods", namespace: "ns1", name: "p", privileged: true, hostPath: true, code: 201, decision: "allow" } });
  });

  it("reads the pod template of workloads (CronJobs' included) and names a pod that has only a generateName", () => {
    const template = { metadata: {}, spec: podObject("x", { privileged: true }).spec };
    const write = (resource: string, requestObject: unknown) => auditEvent(0, { user: "dev", verb: "create", resource, namespace: "ns1", requestURI: `/apis/x/${resource}`, code: 201, requestObject });
    const { events } = normalize("k8s-audit", JSON.stringify(eventList([
      write("deployments", { metadata: { name: "d" }, spec: { template } }),
      write("cronjobs", { metadata: { name: "c" }, spec: { jobTemplate: { spec: { template } } } }),
      write("configmaps", { metadata: { name: "m" }, spec: { template } }),
      write("pods", { ...podObject("x", { hostPath: "/" }), metadata: { generateName: "kube-proxy-" } }),
    ])));
    expect(events.map((e) => [e.k8s?.resource, e.k8s?.name, e.k8s?.privileged, e.k8s?.hostPath])).toEqual([
      ["deployments", "d", true, false], ["cronjobs", "c", true, false], ["configmaps", "m", undefined, undefined], ["pods", "kube-proxy-*", false, true],
    ]);
  });

  it("reads the role a binding grants from the resulting object when a patch carries none", () => {
    const patch = (name: string, responseObject?: unknown) => ({
      ...auditEvent(0, { user: "dev", verb: "patch", resource: "rolebindings", namespace: "ns1", name, requestURI: `/apis/rbac.authorization.k8s.io/v1/namespaces/ns1/rolebindings/${name}`, code: 200,
        requestObject: { subjects: [{ kind: "User", name: "eve" }] } }),
      ...(responseObject ? { level: "RequestResponse", responseObject } : {}),
    });
    const { events } = normalize("k8s-audit", JSON.stringify(eventList([
      patch("ops", { kind: "RoleBinding", metadata: { name: "ops" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [] }),
      patch("view-only"),
    ])));
    expect(events.map((e) => e.k8s?.roleRef)).toEqual(["ClusterRole/cluster-admin", undefined]);
  });

  it("reads what a Role or ClusterRole grants around RBAC: in its body, a JSON patch's ops and the stored object", () => {
    const write = (verb: string, resource: string, requestObject: unknown, responseObject?: unknown) => ({
      ...auditEvent(0, { user: "dev", verb, resource, name: "r", requestURI: `/apis/rbac.authorization.k8s.io/v1/${resource}/r`, code: 200, requestObject }),
      ...(responseObject ? { level: "RequestResponse", responseObject } : {}),
    });
    const rule = (verbs: string[], resources: string[], apiGroups = ["*"]) => ({ apiGroups, resources, verbs });
    const { events, issues } = normalize("k8s-audit", JSON.stringify(eventList([
      write("create", "clusterroles", { kind: "ClusterRole", metadata: { name: "r" }, rules: [rule(["*"], ["*"])] }),
      write("create", "clusterroles", { kind: "ClusterRole", metadata: { name: "r" }, rules: [rule(["get", "list"], ["secrets"], [""]), rule(["*"], ["pods"], [""])] }),
      write("create", "roles", { kind: "Role", metadata: { name: "r" }, rules: [rule(["*"], ["roles"])] }),
      write("patch", "clusterroles", [{ op: "add", path: "/rules/-", value: rule(["impersonate"], ["serviceaccounts"], [""]) }]),
      // A merge patch without rules of its own: the stored object says what the role now grants.
      write("patch", "clusterroles", { metadata: { labels: { a: "b" } } }, { kind: "ClusterRole", rules: [rule(["bind"], ["clusterroles"])] }),
      write("update", "clusterroles", { kind: "ClusterRole", rules: [rule(["escalate", "get"], ["clusterroles/status"])] }),
      // Not a role: a binding or a pod carrying such words is not read as a role's grants.
      write("create", "configmaps", { data: { verbs: "*" }, rules: [rule(["*"], ["*"])] }),
    ])));
    expect(issues).toEqual([]);
    expect(events.map((e) => e.k8s?.roleGrants)).toEqual([
      ["every verb on every resource"],
      undefined,
      ["bind on roles", "escalate on roles"],
      ["impersonate"],
      ["bind on roles"],
      ["escalate on roles"],
      undefined,
    ]);
  });

  it("refuses an EventList whose items are not a list", () => {
    expect(normalize("k8s-audit", JSON.stringify({ kind: "EventList", apiVersion: "audit.k8s.io/v1", items: {} })).issues[0]).toMatchObject({ field: "items" });
  });
});

describe("batches with very many problems", () => {
  it("stop at the first 100 issues and say the rest was not checked", () => {
    // Four million bytes of junk lines: each line used to become an issue (gigabytes, seconds of a blocked event loop).
    const junk = normalize("events", "x\n".repeat(2_000_000));
    expect(junk.issues).toHaveLength(100);
    expect(junk.issues[99]).toMatchObject({ item: 99, line: 100, field: "(item)" });
    expect(junk.truncated).toBe(true);
    // Valid JSON whose records are all wrong, and one record with thousands of unknown fields: the same bound.
    const wrong = normalize("events", JSON.stringify(Array.from({ length: 500 }, () => ({ type: "nope" }))));
    expect(wrong).toMatchObject({ truncated: true, events: [] });
    expect(wrong.issues).toHaveLength(100);
    const wide = normalize("events", JSON.stringify({ id: "w", timestamp: "2024-05-14T10:00:00Z", type: "other", sourceIp: "1.2.3.4", ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, 1])) }));
    expect(wide).toMatchObject({ truncated: true, events: [] });
    expect(wide.issues).toHaveLength(100);
    // Fewer problems than the bound: every one listed, nothing truncated.
    expect(normalize("events", "x\n".repeat(5))).toMatchObject({ truncated: false, issues: Array.from({ length: 5 }, (_, i) => expect.objectContaining({ line: i + 1 })) as unknown[] });
  });
});

describe("ids within a batch", () => {
  it("refuses two different records with one id, naming both items; the same record twice stays a duplicate", () => {
    const record = (username: string) => ({ id: "evt-1", timestamp: "2024-05-14T10:00:00Z", type: "auth.failure", sourceIp: "192.0.2.9", username });
    expect(normalize("events", JSON.stringify([record("root"), record("admin")])).issues)
      .toEqual([{ item: 1, field: "(item)", message: "has the id generic:evt-1 of item 0, with different content" }]);
    const twice = normalize("events", JSON.stringify([record("root"), record("root")]));
    expect(twice.issues).toEqual([]);
    expect(twice.events.map((e) => e.id)).toEqual(["generic:evt-1", "generic:evt-1"]);
  });
});

describe("source addresses", () => {
  it("are stored in one spelling: IPv6 in RFC 5952 form, IPv4-mapped IPv6 as IPv4", () => {
    const record = (sourceIp: string, i: number) => ({ id: `ip${i}`, timestamp: "2024-05-14T10:00:00Z", type: "other", sourceIp, destIp: sourceIp });
    const spellings = ["2001:DB8:0:0:0:0:0:1", "2001:0db8::0001", "::FFFF:192.0.2.7", "::ffff:c000:207", "fe80:0:0:0:0:0:0:1", "192.0.2.7"];
    const { events, issues } = normalize("events", JSON.stringify(spellings.map(record)));
    expect(issues).toEqual([]);
    expect(events.map((e) => [e.sourceIp, e.destIp])).toEqual([
      ["2001:db8::1", "2001:db8::1"], ["2001:db8::1", "2001:db8::1"], ["192.0.2.7", "192.0.2.7"], ["192.0.2.7", "192.0.2.7"], ["fe80::1", "fe80::1"], ["192.0.2.7", "192.0.2.7"],
    ]);
  });
});

describe("generic schema", () => {
  it("accepts the documented fields and refuses unknown ones by name", () => {
    const ok = normalize("events", JSON.stringify({ id: "a1", timestamp: "2024-05-14T10:00:00+02:00", type: "network.flow", sourceIp: "2001:db8::1", destPort: 22, bytesOut: 10 }));
    expect(ok.events[0]).toMatchObject({ id: "generic:a1", kind: "network.flow", time: Date.parse("2024-05-14T08:00:00Z"), sourceIp: "2001:db8::1" });
    const bad = normalize("events", JSON.stringify([{ timestamp: "2024-05-14T10:00:00Z", type: "auth.failure", sourceIP: "1.2.3.4" }]));
    expect(bad.issues.map((i) => i.field).sort()).toEqual(["sourceIP", "sourceIp"]);
    expect(bad.issues.find((i) => i.field === "sourceIP")?.message).toBe("is not a field of this format");
    expect(normalize("events", JSON.stringify({ timestamp: "2024-05-14T10:00:00Z", type: "other", sourceIp: "fe80::1%eth0" })).issues[0]).toMatchObject({ field: "sourceIp" });
  });

  it("refuses timestamps without a zone and far in the future", () => {
    const noZone = normalize("events", JSON.stringify({ timestamp: "2024-05-14T10:00:00", type: "other", sourceIp: "1.2.3.4" }));
    expect(noZone.issues[0]).toMatchObject({ field: "timestamp" });
    const future = normalize("events", JSON.stringify({ timestamp: "2030-01-01T00:00:00Z", type: "other", sourceIp: "1.2.3.4" }));
    expect(future.issues[0]).toMatchObject({ field: "timestamp", message: "is more than 24 hours in the future" });
  });
});

describe("records that cannot be stored as sent", () => {
  const event = (fields: Record<string, unknown> = {}) => ({ timestamp: "2024-05-14T10:00:00Z", type: "other", sourceIp: "1.2.3.4", ...fields });

  it("refuses a day that does not exist rather than moving it to the next month", () => {
    for (const day of ["2024-02-30", "2023-02-29", "2024-04-31"]) {
      expect(normalize("events", JSON.stringify(event({ timestamp: `${day}T10:00:00Z` }))).issues[0], day).toMatchObject({ field: "timestamp" });
    }
    expect(normalize("events", JSON.stringify(event({ timestamp: "2024-02-29T10:00:00Z" }))).events[0]?.time).toBe(Date.parse("2024-02-29T10:00:00Z"));
    // Years before 100 are real dates (Date.UTC would take 0050 for 1950), and refused as what they are.
    expect(normalize("events", JSON.stringify(event({ timestamp: "0050-01-01T00:00:00Z" }))).issues).toEqual([{ item: 0, field: "timestamp", message: "is before 1970" }]);
  });

  it("refuses unpaired surrogates, naming where they are (stored as UTF-8 they would become U+FFFD, and two ids one)", () => {
    const body = `[${JSON.stringify(event({ id: "ok" }))},{"id":"lone\\ud800","timestamp":"2024-05-14T10:00:00Z","type":"other","sourceIp":"1.2.3.4"}]`;
    const { issues, events } = normalize("events", body);
    expect(events).toEqual([]);
    expect(issues).toEqual([{ item: 1, field: "id", message: expect.stringMatching(/unpaired UTF-16 surrogate/) }]);
    // A pair is a character like any other.
    expect(normalize("events", `{"id":"pair\\ud83d\\ude00","timestamp":"2024-05-14T10:00:00Z","type":"other","sourceIp":"1.2.3.4"}`).events[0]?.id).toBe("generic:pair😀");
  });

  it("refuses NUL characters, naming where they are (PostgreSQL cannot store them: the batch failed with a 500 there)", () => {
    const nul = (field: string) => `{"id":"a","timestamp":"2024-05-14T10:00:00Z","type":"auth.failure","sourceIp":"1.2.3.4",${field}}`;
    expect(normalize("events", nul('"username":"ro\\u0000ot"')).issues).toEqual([{ item: 0, field: "username", message: "holds a NUL character (\\u0000), which cannot be stored" }]);
    expect(normalize("events", `{"id":"a\\u0000b","timestamp":"2024-05-14T10:00:00Z","type":"other","sourceIp":"1.2.3.4"}`).issues).toEqual([expect.objectContaining({ field: "id" })]);
    expect(normalize("cowrie", JSON.stringify(cowrie.loginFailed({ srcIp: "203.0.113.1", session: "s" }, 1, "adm\u0000in", "x"))).issues).toEqual([expect.objectContaining({ message: expect.stringMatching(/NUL/) as string })]);
    // Other escaped control characters are text like any other.
    expect(normalize("events", nul('"username":"ro\\u0001ot"')).events[0]?.username).toBe("ro\u0001ot");
  });

  it("refuses Kubernetes user names too long to index, and takes any audit ID (the client sets it) into an id of bounded length", () => {
    const base = { kind: "Event", apiVersion: "audit.k8s.io/v1", level: "Metadata", stage: "ResponseComplete", requestURI: "/api/v1/pods", verb: "list", sourceIPs: ["10.0.0.1"],
      requestReceivedTimestamp: "2024-05-14T10:00:00.000000Z", stageTimestamp: "2024-05-14T10:00:00.001000Z" };
    expect(normalize("k8s-audit", JSON.stringify({ ...base, auditID: "a1", user: { username: "u".repeat(513) } })).issues).toEqual([expect.objectContaining({ field: "user.username" })]);
    expect(normalize("k8s-audit", JSON.stringify({ ...base, auditID: "a".repeat(200), user: { username: "u".repeat(512) } })).issues).toEqual([]);
    // A 20,000-character audit ID (an Audit-ID header) failed with a 500 on PostgreSQL, then was refused with its batch.
    const long = normalize("k8s-audit", JSON.stringify({ ...base, auditID: "a".repeat(20_000), user: { username: "u" } }));
    expect(long.issues).toEqual([]);
    expect(long.events[0]!.id.length).toBeLessThan(200);
    // The event keeps it as every text: its first maxEventTextLength characters and a digest of the whole (so two audit
    // IDs that differ stay different).
    expect(long.events[0]!.k8s?.auditId).toMatch(new RegExp(`^a{${maxEventTextLength}}… \\(20000 characters, sha256 [0-9a-f]{32}\\)$`));
  });

  it("keeps two requests under one audit ID (the client chose it) as two events; a record sent again is the same event", () => {
    const get = { ...auditEvent(0, { user: "mallory", verb: "get", resource: "pods", namespace: "a", name: "p", requestURI: "/api/v1/namespaces/a/pods/p", code: 200 }), auditID: "x" };
    const list = { ...auditEvent(1, { user: "mallory", verb: "list", resource: "secrets", namespace: "b", requestURI: "/api/v1/namespaces/b/secrets", code: 200 }), auditID: "x" };
    const { events, issues } = normalize("k8s-audit", JSON.stringify(eventList([get, list, get])));
    expect(issues).toEqual([]);
    expect(events.map((e) => e.id)).toEqual([events[0]!.id, expect.not.stringMatching(events[0]!.id) as string, events[0]!.id]);
    expect(events[0]!.id).toMatch(/^k8s-audit:x:ResponseComplete:[0-9a-f]{32}$/);
  });

  it("refuses a record nested too deeply to digest with a 4xx naming it, not a failure to retry", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const body = [JSON.stringify(cowrie.loginFailed({ srcIp: "203.0.113.1", session: "s" }, 1, "root", "x")),
      JSON.stringify(cowrie.loginFailed({ srcIp: "203.0.113.1", session: "s" }, 2, "root", "y")).replace(/}$/, `,"extra":${deep}}`)].join("\n");
    const { issues } = normalize("cowrie", body);
    expect(issues).toEqual([{ item: 1, line: 2, field: "(item)", message: "is nested too deeply to be read" }]);
  });

  it("counts NDJSON lines from the body as sent, blank lines before the first record included", () => {
    const body = `\n\n${JSON.stringify(event())}\n{not json\n`;
    expect(normalize("events", body).issues).toEqual([{ item: 1, line: 4, field: "(item)", message: expect.stringMatching(/^not valid JSON/) }]);
  });
});

describe("text an attacker chooses", () => {
  // A command typed into the honeypot, a login name, a URL or User-Agent sent to the API server: as long as a body allows.
  // Events are kept whole in memory for detection (the SQLite cache is bounded by a count of events, not their size).
  const huge = (c: string) => c.repeat(1_000_000);

  it("is kept to maxEventTextLength characters per field, and two long texts that differ stay different", () => {
    const s = { srcIp: "203.0.113.60", session: "long" };
    const body = [
      cowrie.command(s, 1, `wget http://203.0.113.9/${huge("A")}x`),
      cowrie.command(s, 2, `wget http://203.0.113.9/${huge("A")}y`),
      cowrie.loginSuccess(s, 3, huge("r"), huge("p")),
      cowrie.command(s, 4, "uname -a"),
    ].map((r) => JSON.stringify(r)).join("\n");
    const { events, issues } = normalize("cowrie", body);
    expect(issues).toEqual([]);
    for (const e of events) expect(JSON.stringify(e).length).toBeLessThan(4 * maxEventTextLength);
    const [x, y, login, short] = events;
    expect(x!.command!.startsWith(`wget http://203.0.113.9/AAAA`)).toBe(true);
    expect(x!.command!.length).toBeLessThanOrEqual(maxEventTextLength + 100);
    // Distinct commands (or login names, or passwords: the spray rule counts them) stay distinct.
    expect(x!.command).not.toBe(y!.command);
    expect(login!.username!.length).toBeLessThanOrEqual(maxEventTextLength + 100);
    expect(short!.command).toBe("uname -a");
  });

  it("is bounded in audit events too (request URI, User-Agent, object names), whoever sent the request", () => {
    const record = { ...auditEvent(1, { user: "system:anonymous", verb: "get", requestURI: `/api/${huge("a")}`, code: 403 }), userAgent: huge("u") };
    const { events, issues } = normalize("k8s-audit", JSON.stringify(record));
    expect(issues).toEqual([]);
    expect(JSON.stringify(events[0]).length).toBeLessThan(4 * maxEventTextLength);
    expect(events[0]!.url!.startsWith("/api/aaaa")).toBe(true);
  });
});
