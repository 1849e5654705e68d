// config/prometheus/prometheus-rule.yaml: valid for Prometheus (promtool from Debian's prometheus package), each alert
// fires on the series that should raise it and stays quiet otherwise, and every metric it reads is one the code exports.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { DetectorMetrics } from "../../detector/ops/detectorMetrics.ts";
import type { Repository } from "../../detector/store/repository.ts";
import { OperatorMetrics } from "../../operator/runtime/metrics.ts";
import { ensureDebianCommand, runTool } from "../support/debian.ts";

const root = join(import.meta.dirname, "../..");
interface Rule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const prometheusRule = parse(readFileSync(join(root, "config/prometheus/prometheus-rule.yaml"), "utf8")) as {
  kind: string; spec: { groups: { name: string; rules: Rule[] }[] };
};
const rules = prometheusRule.spec.groups.flatMap((g) => g.rules);

const op = (s: string) => `{job="minixdr-operator",namespace="minixdr-system",pod="minixdr-operator-${s}"}`;
const det = (labels: string) => `{job="minixdr-detector",namespace="team-a",minixdr="basic",${labels}}`;
type Case = { name: string; series: { series: string; values: string }[]; at: string; alert: string; fires: Record<string, string>[] };

/** Each alert: a case where it must fire (with these labels) and one where it must not. */
const cases: Case[] = [
  { name: "reconciles keep failing", alert: "MiniXdrReconcileErrors", at: "25m", series: [
    { series: `minixdr_reconcile_total${op("a").replace("}", ',result="error"}')}`, values: "0+2x40" }], fires: [{ severity: "warning" }] },
  { name: "errors stopped 20 minutes ago, successes go on", alert: "MiniXdrReconcileErrors", at: "35m", series: [
    { series: `minixdr_reconcile_total${op("a").replace("}", ',result="error"}')}`, values: "0+1x10 10x30" },
    { series: `minixdr_reconcile_total${op("a").replace("}", ',result="success"}')}`, values: "0+5x40" }], fires: [] },
  { name: "work queue stays deep", alert: "MiniXdrWorkQueueBacklog", at: "16m", series: [
    { series: `minixdr_workqueue_depth${op("a")}`, values: "30x20" }, { series: `minixdr_workqueue_depth${op("b")}`, values: "0x20" }], fires: [{ severity: "warning" }] },
  { name: "short work queue", alert: "MiniXdrWorkQueueBacklog", at: "16m", series: [{ series: `minixdr_workqueue_depth${op("a")}`, values: "5x20" }], fires: [] },
  { name: "both replicas follow", alert: "MiniXdrOperatorNoLeader", at: "6m", series: [
    { series: `minixdr_leader${op("a")}`, values: "0x10" }, { series: `minixdr_leader${op("b")}`, values: "0x10" }], fires: [{ severity: "critical" }] },
  { name: "no operator scraped at all", alert: "MiniXdrOperatorNoLeader", at: "6m", series: [{ series: "some_other_metric", values: "1x10" }], fires: [{ severity: "critical" }] },
  { name: "one replica leads", alert: "MiniXdrOperatorNoLeader", at: "6m", series: [
    { series: `minixdr_leader${op("a")}`, values: "1x10" }, { series: `minixdr_leader${op("b")}`, values: "0x10" }], fires: [] },
  { name: "an instance stays Degraded, another is fine", alert: "MiniXdrDegraded", at: "11m", series: [
    // honorLabels keeps the MiniXdr's namespace rather than the operator pod's.
    { series: 'minixdr_instance_condition{job="minixdr-operator",pod="minixdr-operator-a",namespace="team-a",name="basic",type="Degraded",status="True"}', values: "1x15" },
    { series: 'minixdr_instance_condition{job="minixdr-operator",pod="minixdr-operator-a",namespace="team-b",name="prod",type="Degraded",status="True"}', values: "0x15" },
    { series: 'minixdr_instance_condition{job="minixdr-operator",pod="minixdr-operator-a",namespace="team-b",name="prod",type="Degraded",status="False"}', values: "1x15" }],
  fires: [{ severity: "warning", namespace: "team-a", name: "basic" }] },
  { name: "Degraded for 5 minutes only", alert: "MiniXdrDegraded", at: "11m", series: [
    { series: 'minixdr_instance_condition{job="minixdr-operator",namespace="team-a",name="basic",type="Degraded",status="True"}', values: "0x5 1x5 0x5" }], fires: [] },
  { name: "an instance whose detector never becomes available (no pod to scrape at all)", alert: "MiniXdrNotReady", at: "20m", series: [
    { series: 'minixdr_instance_condition{job="minixdr-operator",namespace="team-a",name="basic",type="Ready",status="False"}', values: "1x25" },
    { series: 'minixdr_instance_condition{job="minixdr-operator",namespace="team-b",name="prod",type="Ready",status="False"}', values: "0x25" }],
  fires: [{ severity: "warning", namespace: "team-a", name: "basic" }] },
  { name: "a paused instance is not Ready on purpose", alert: "MiniXdrNotReady", at: "20m", series: [
    { series: 'minixdr_instance_condition{job="minixdr-operator",namespace="team-a",name="basic",type="Ready",status="False"}', values: "1x25" },
    { series: 'minixdr_instance_condition{job="minixdr-operator",namespace="team-a",name="basic",type="Paused",status="True"}', values: "1x25" }], fires: [] },
  { name: "a rollout that takes ten minutes", alert: "MiniXdrNotReady", at: "20m", series: [
    { series: 'minixdr_instance_condition{job="minixdr-operator",namespace="team-a",name="basic",type="Ready",status="False"}', values: "0x5 1x10 0x10" }], fires: [] },
  { name: "one detector pod down", alert: "MiniXdrDetectorDown", at: "6m", series: [
    { series: `up${det('pod="basic-detector-1"')}`, values: "0x10" }, { series: `up${det('pod="basic-detector-2"')}`, values: "1x10" }],
  fires: [{ severity: "warning", namespace: "team-a", minixdr: "basic", pod: "basic-detector-1", job: "minixdr-detector" }] },
  { name: "every detector pod answers", alert: "MiniXdrDetectorDown", at: "6m", series: [
    { series: `up${det('pod="basic-detector-1"')}`, values: "1x10" }, { series: `up${det('pod="basic-detector-2"')}`, values: "1x10" }], fires: [] },
  { name: "one of two detector pods down is not an outage", alert: "MiniXdrDetectorUnavailable", at: "6m", series: [
    { series: `up${det('pod="basic-detector-1"')}`, values: "0x10" }, { series: `up${det('pod="basic-detector-2"')}`, values: "1x10" }], fires: [] },
  { name: "every detector pod down", alert: "MiniXdrDetectorUnavailable", at: "6m", series: [
    { series: `up${det('pod="basic-detector-1"')}`, values: "0x10" }, { series: `up${det('pod="basic-detector-2"')}`, values: "0x10" }],
  fires: [{ severity: "critical", namespace: "team-a", minixdr: "basic" }] },
  { name: "open incidents climb fast (two replicas report the same store)", alert: "MiniXdrIncidentSurge", at: "20m", series: [
    { series: `minixdr_open_incidents${det('pod="p1",tenant="default",severity="high"')}`, values: "0+1x30" },
    { series: `minixdr_open_incidents${det('pod="p2",tenant="default",severity="high"')}`, values: "0+1x30" },
    { series: `minixdr_open_incidents${det('pod="p1",tenant="default",severity="low"')}`, values: "0+0.5x30" }],
  fires: [{ severity: "warning", namespace: "team-a", minixdr: "basic", tenant: "default" }] },
  { name: "a steady trickle of incidents", alert: "MiniXdrIncidentSurge", at: "20m", series: [
    { series: `minixdr_open_incidents${det('pod="p1",tenant="default",severity="high"')}`, values: "0+0.2x30" },
    { series: `minixdr_open_incidents${det('pod="p2",tenant="default",severity="high"')}`, values: "0+0.2x30" }], fires: [] },
  { name: "a critical incident is open", alert: "MiniXdrCriticalIncidentOpen", at: "2m", series: [
    { series: `minixdr_open_incidents${det('pod="p1",tenant="payments",severity="critical"')}`, values: "1x5" },
    { series: `minixdr_open_incidents${det('pod="p1",tenant="default",severity="critical"')}`, values: "0x5" }],
  fires: [{ severity: "critical", namespace: "team-a", minixdr: "basic", tenant: "payments" }] },
  { name: "only high incidents are open", alert: "MiniXdrCriticalIncidentOpen", at: "2m", series: [
    { series: `minixdr_open_incidents${det('pod="p1",tenant="default",severity="high"')}`, values: "7x5" },
    { series: `minixdr_open_incidents${det('pod="p1",tenant="default",severity="critical"')}`, values: "0x5" }], fires: [] },
  { name: "the detection queue stays deep (two replicas report the same store)", alert: "MiniXdrDetectionBehind", at: "16m", series: [
    { series: `minixdr_detection_queue_events${det('pod="p1"')}`, values: "60000x20" }, { series: `minixdr_detection_queue_events${det('pod="p2"')}`, values: "60000x20" }],
  fires: [{ severity: "warning", namespace: "team-a", minixdr: "basic" }] },
  { name: "a burst the passes catch up with", alert: "MiniXdrDetectionBehind", at: "16m", series: [
    { series: `minixdr_detection_queue_events${det('pod="p1"')}`, values: "0 80000 40000 0x18" }], fires: [] },
  { name: "passes keep failing", alert: "MiniXdrDetectionFailing", at: "20m", series: [
    { series: `minixdr_detection_pass_failures_total${det('pod="p1"')}`, values: "0+10x30" }, { series: `minixdr_detection_pass_failures_total${det('pod="p2"')}`, values: "0x30" }],
  fires: [{ severity: "critical", namespace: "team-a", minixdr: "basic", pod: "p1" }] },
  { name: "one failed pass, retried", alert: "MiniXdrDetectionFailing", at: "20m", series: [
    { series: `minixdr_detection_pass_failures_total${det('pod="p1"')}`, values: "0 1 1x28" }], fires: [] },
  { name: "a few refused requests, then none", alert: "MiniXdrIngestUnauthorized", at: "20m", series: [
    { series: `minixdr_ingest_refused_total${det('pod="p1",source="cowrie",reason="unauthorized"')}`, values: "0 3 5 5x28" }], fires: [] },
  { name: "senders keep using a wrong token", alert: "MiniXdrIngestUnauthorized", at: "20m", series: [
    { series: `minixdr_ingest_refused_total${det('pod="p1",source="cowrie",reason="unauthorized"')}`, values: "0+60x30" },
    { series: `minixdr_ingest_refused_total${det('pod="p1",source="suricata",reason="invalid"')}`, values: "0+600x30" }],
  fires: [{ severity: "warning", namespace: "team-a", minixdr: "basic", source: "cowrie" }] },
  { name: "a rotated Secret refused and never corrected", alert: "MiniXdrSecretRejected", at: "10m", series: [
    { series: `minixdr_secret_rejected${det('pod="p1"')}`, values: "0 1x15" }, { series: `minixdr_secret_rejected${det('pod="p2"')}`, values: "0x15" }],
  fires: [{ severity: "warning", namespace: "team-a", minixdr: "basic", pod: "p1" }] },
  { name: "a refused Secret corrected within minutes", alert: "MiniXdrSecretRejected", at: "10m", series: [
    { series: `minixdr_secret_rejected${det('pod="p1"')}`, values: "0 1 1 0x13" }], fires: [] },
  { name: "logins refused all along, across two replicas", alert: "MiniXdrLoginsRefused", at: "20m", series: [
    { series: `minixdr_logins_total${det('pod="p1",result="invalid-credentials"')}`, values: "0+6x30" },
    { series: `minixdr_logins_total${det('pod="p2",result="busy"')}`, values: "0+9x30" }],
  fires: [{ severity: "warning", namespace: "team-a", minixdr: "basic" }] },
  { name: "a few typos among many good logins", alert: "MiniXdrLoginsRefused", at: "20m", series: [
    { series: `minixdr_logins_total${det('pod="p1",result="invalid-credentials"')}`, values: "0 1 2 2x28" },
    { series: `minixdr_logins_total${det('pod="p1",result="success"')}`, values: "0+30x30" }], fires: [] },
];

let promtool: string;
let dir: string;
beforeAll(() => {
  promtool = ensureDebianCommand("promtool", "prometheus");
  dir = mkdtempSync(join(tmpdir(), "minixdr-promtool-"));
}, 600_000);
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

describe("config/prometheus PrometheusRule", () => {
  it("is a PrometheusRule whose PromQL and templates Prometheus accepts", () => {
    expect(prometheusRule.kind).toBe("PrometheusRule");
    writeFileSync(join(dir, "rules.yaml"), stringify(prometheusRule.spec));
    expect(runTool(promtool, ["check", "rules", join(dir, "rules.yaml")])).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    for (const r of rules) {
      expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
  });

  it("covers every alert with a firing and a quiet case", () => {
    for (const r of rules) {
      expect(cases.filter((c) => c.alert === r.alert && c.fires.length > 0).map((c) => c.name), r.alert).not.toHaveLength(0);
      expect(cases.filter((c) => c.alert === r.alert && c.fires.length === 0).map((c) => c.name), r.alert).not.toHaveLength(0);
    }
  });

  it.each(cases)("$alert: $name", (c) => {
    // Annotations are checked by `promtool check rules` above; here only firing and labels matter.
    const bare = { groups: prometheusRule.spec.groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }) => r) })) };
    const file = join(dir, `case-${cases.indexOf(c)}`);
    writeFileSync(`${file}-rules.yaml`, stringify(bare));
    writeFileSync(`${file}-test.yaml`, stringify({
      rule_files: [`${file}-rules.yaml`],
      evaluation_interval: "1m",
      tests: [{ interval: "1m", input_series: c.series, alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: c.fires.map((l) => ({ exp_labels: { alertname: c.alert, ...l } })) }] }],
    }));
    const r = (() => {
      try {
        return { ok: true, out: runTool(promtool, ["test", "rules", `${file}-test.yaml`]) };
      } catch (err) {
        return { ok: false, out: (err as Error).message };
      }
    })();
    expect(r.out).toContain("SUCCESS");
    expect(r.ok).toBe(true);
  });

  it("reads only metrics and labels the operator and the detector export", () => {
    const repository = { openIncidentCounts: () => Promise.resolve([]) } as unknown as Repository;
    const registries: Registry[] = [new OperatorMetrics().registry, new DetectorMetrics(repository).registry];
    const labelsOf = new Map<string, string[]>([["up", []]]);
    for (const reg of registries) {
      for (const m of reg.getMetricsAsArray()) labelsOf.set(m.name, (m as unknown as { labelNames: string[] }).labelNames);
    }
    // Added by the ServiceMonitors (target labels and relabelings), not by the code.
    const scrapeLabels = ["job", "namespace", "pod", "minixdr"];
    for (const r of rules) {
      for (const m of r.expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*\{([^}]*)\}/g)) {
        const name = m[1]!;
        expect(labelsOf.has(name), `${r.alert}: metric ${name}`).toBe(true);
        for (const matcher of m[2]!.matchAll(/([a-z_]+)\s*=/g)) {
          expect([...labelsOf.get(name)!, ...scrapeLabels], `${r.alert}: label ${matcher[1]} of ${name}`).toContain(matcher[1]);
        }
      }
    }
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(["MiniXdrReconcileErrors", "MiniXdrDegraded", "MiniXdrDetectorDown", "MiniXdrIncidentSurge"]));
  });
});
