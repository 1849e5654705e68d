// Runs the rules and the anomaly model over each tenant+source of a stored batch and records incidents.
import { randomUUID } from "node:crypto";
import type { DetectionConfig } from "../config/detectorConfig.ts";
import { firstAtOrAfter } from "../events/eventOrder.ts";
import type { SecurityEvent } from "../events/securityEvent.ts";
import { clampRisk, severities, severityForRisk, type Incident, type Severity } from "../incidents/incident.ts";
import { featureVector } from "../ml/features.ts";
import { riskAdjustment, type RiskAdjustment } from "../ml/risk.ts";
import type { AnomalyModel } from "../anomaly/anomalyModel.ts";
import { behaviourWindowSeconds, sourceBehaviourOf } from "../anomaly/sourceBehaviourOf.ts";
import { allRules } from "../rules/allRules.ts";
import { oldestFirst, type Detection, type DetectionRule, type RuleInput } from "../rules/detectionRule.ts";
import type { DetectionTransaction } from "../store/repository.ts";
import { Suppressions } from "./suppressions.ts";

export interface DetectionEngineOptions {
  config: DetectionConfig;
  containment: "alert" | "block";
  rules?: DetectionRule[];
  anomalyModel?: AnomalyModel;
  now?: () => number;
  /** Called for each rule or model detection, e.g. to count it in metrics. */
  onDetection?: (d: { rule: string; techniqueId: string }) => void;
  /** Called with the seconds one model inference took. */
  onInference?: (seconds: number) => void;
  /** Called when the model fails; that pass then detects with the rules alone (no risk adjustment, no anomaly incidents). */
  onModelError?: (err: Error) => void;
}

export interface DetectionOutcome {
  incident: Incident;
  created: boolean;
}

/** The pseudo-rule name and dedupe key of incidents the model raises on its own. */
export const anomalyRuleName = "anomaly-model";
const anomalyBaseRisk = 50;
/** Sources whose windows one step of a pass reads at once (and the model scores in one run). */
const sourcesPerChunk = 64;
/** How long the rules run before the pass lets the event loop serve requests. */
const computeSliceMs = 10;

function higher(a: Severity, b: Severity): Severity {
  return severities.indexOf(a) >= severities.indexOf(b) ? a : b;
}

/**
 * Whether the model's doubt (a score below the threshold) may lower the detection's risk. Not for a Kubernetes audit
 * detection: the model was trained on no RBAC write, pod spec, exec or anonymous-access scenario (its audit features
 * are request rates, 403 share, secret reads and execs, and its only audit attack is secret harvesting), so an
 * outsider's cluster-admin binding from an audit-only source scores about 0, which is no evidence that it is benign:
 * it took 10 off the gravest rule (90, critical, to 80, high). Its agreement (a score at or above the threshold: the
 * source's 403s, secret reads or execs look like harvesting) is evidence about the source and still raises the risk.
 */
function modelMayLower(d: Detection): boolean {
  return !d.events.some((e) => e.kind === "k8s.audit");
}

/** One tenant+source of a pass and its events in the pass. */
interface PassSource {
  tenant: string;
  sourceIp: string;
  triggers: SecurityEvent[];
}

/** What the rules and the model found for one source, to record. */
interface Assessment {
  tenant: string;
  /** The source's events in the pass (what can have made its detections). */
  triggers: SecurityEvent[];
  detections: { detection: Detection; key: string }[];
  adjustment: RiskAdjustment;
  model: { version: string; score: number } | undefined;
}

/** One detection of a chunk, with what the model said about its source. */
interface ToRecord {
  tenant: string;
  detection: Detection;
  key: string;
  /** The event-time span of the detection's triggers: the pass's events among its evidence. */
  triggers: { from: number; to: number };
  adjustment: RiskAdjustment;
  model: { version: string; score: number } | undefined;
}

/** A source's triggers of a pass: their ids, and the span of event time they lie in. */
interface TriggerSet {
  ids: Set<string>;
  from: number;
  to: number;
}

function triggerSet(triggers: readonly SecurityEvent[]): TriggerSet {
  const ids = new Set<string>();
  let from = Infinity;
  let to = -Infinity;
  for (const t of triggers) {
    ids.add(t.id);
    if (t.time < from) from = t.time;
    if (t.time > to) to = t.time;
  }
  return { ids, from, to };
}

/**
 * The event-time span of the detection's triggers: the source's events of this pass among its evidence (a rule's
 * detection holds at least one). Should none be (the model's evidence is the last 200 events of a window), every
 * trigger of the source counts. Only evidence within the triggers' span is looked up by id (a trigger's copy in the
 * evidence has its time): once windows are full, most evidence is older than the pass.
 */
function triggerSpan(d: Detection, triggers: TriggerSet): { from: number; to: number } {
  let from = Infinity;
  let to = -Infinity;
  for (const e of d.events) {
    if (e.time < triggers.from || e.time > triggers.to || !triggers.ids.has(e.id)) continue;
    if (e.time < from) from = e.time;
    if (e.time > to) to = e.time;
  }
  return from > to ? { from: triggers.from, to: triggers.to } : { from, to };
}

/** The events (oldest first) with time in (after, upTo]. */
function between(events: SecurityEvent[], after: number, upTo: number): SecurityEvent[] {
  const start = firstAtOrAfter(events, after, true);
  const end = firstAtOrAfter(events, upTo, true);
  return start === 0 && end === events.length ? events : events.slice(start, end);
}

/** The events (oldest first) in runs whose neighbours are at most `gapMs` apart. */
function clusters(events: SecurityEvent[], gapMs: number): SecurityEvent[][] {
  const out: SecurityEvent[][] = [];
  for (const e of events) {
    const last = out.at(-1);
    if (last && e.time - last.at(-1)!.time <= gapMs) last.push(e);
    else out.push([e]);
  }
  return out;
}

/** Whether `clusters` would find at most one run: no neighbours more than `gapMs` apart. */
function oneRun(events: readonly SecurityEvent[], gapMs: number): boolean {
  for (let i = 1; i < events.length; i++) if (events[i]!.time - events[i - 1]!.time > gapMs) return false;
  return true;
}

/**
 * The rule's detections, one per stretch of activity: evidence that falls apart into runs more than the rule's window
 * apart is two attacks (no window can hold both), and each is judged, scored and recorded on its own, as it would have
 * been had its events come in a batch of their own. Without this, a batch spanning an hour (a log replayed, a sensor
 * catching up) made two attacks one incident, with a risk that depended on the batching, and rules that judge a whole
 * span at once (the Kubernetes rules) joined requests an hour apart into one detection.
 */
function detectSeparately(rule: DetectionRule, input: RuleInput, windowMs: number): Detection[] {
  const detections = rule.detect(input);
  // Mostly one stretch: found without copying the evidence into runs.
  if (detections.every((d) => oneRun(d.events, windowMs))) return detections;
  return detections.flatMap((d) => {
    const runs = clusters(d.events, windowMs);
    if (runs.length < 2) return [d];
    return runs.flatMap((run) => {
      const from = run[0]!.time - windowMs;
      const to = run.at(-1)!.time + windowMs;
      const inRun = (e: SecurityEvent) => e.time >= from && e.time <= to;
      const triggers = input.triggers.filter(inRun);
      // A stretch none of this batch's events belong to was detected when its own events came.
      if (triggers.length === 0) return [];
      return rule.detect({ ...input, triggers, events: input.events.filter(inRun) }).filter((x) => x.actor === d.actor);
    });
  });
}

export class DetectionEngine {
  private readonly options: DetectionEngineOptions;
  private readonly rules: DetectionRule[];
  /** Each rule's window (ms), in `rules` order. */
  private readonly ruleWindows: number[];
  private readonly now: () => number;
  private readonly suppressions: Suppressions;

  constructor(options: DetectionEngineOptions) {
    this.options = options;
    this.rules = options.rules ?? allRules;
    this.now = options.now ?? Date.now;
    this.ruleWindows = this.rules.map((r) => r.windowMs(options.config));
    this.suppressions = new Suppressions(options.config.suppressions);
  }

  /** The rules a source's triggers can fire (by their kinds), by index into `rules`. */
  private rulesFor(triggers: SecurityEvent[]): number[] {
    const kinds = new Set(triggers.map((t) => t.kind));
    return this.rules.flatMap((rule, r) => (rule.triggerKinds.some((k) => kinds.has(k)) ? [r] : []));
  }

  /**
   * How far around its triggers a source's history is read: after the newest, the widest window of the rules that
   * will run, and the model's; before the oldest (`before`), the same except for the rules that say from the events
   * since the triggers began how far back they need (`historyFrom`): those are `conditional`, for `historyFrom` to
   * judge once the rest is read. (A source sending only failed logins is not read an hour back for the download rule,
   * nor 10 minutes back for a login that never came.)
   */
  private historyMsFor(rules: number[]): { before: number; after: number; conditional: number[] } {
    let before = this.options.anomalyModel ? behaviourWindowSeconds * 1000 : 0;
    let after = before;
    const conditional: number[] = [];
    for (const r of rules) {
      const w = this.ruleWindows[r]!;
      after = Math.max(after, w);
      if (this.rules[r]!.historyFrom) conditional.push(r);
      else before = Math.max(before, w);
    }
    return { before, after, conditional: conditional.filter((r) => this.ruleWindows[r]! > before) };
  }

  /**
   * Where rule `r`'s window over a source's history starts: `windowMs` before the oldest trigger, or for a rule with
   * `historyFrom` where that says its detections can need history from (not before the window, not after the oldest
   * trigger), judged from the history since the oldest trigger.
   */
  private windowStart(r: number, source: { tenant: string; sourceIp: string; triggers: SecurityEvent[] }, { oldest, newest }: { oldest: number; newest: number }, history: SecurityEvent[]): number {
    const w = this.ruleWindows[r]!;
    const rule = this.rules[r]!;
    if (!rule.historyFrom) return oldest - w;
    const since = between(history, oldest - 1, newest + w);
    const needed = rule.historyFrom({ ...source, events: since, config: this.options.config });
    return Math.max(oldest - w, Math.min(oldest, needed));
  }

  /**
   * The sources' windows: first from `before` ahead of the oldest trigger, then, for the sources a conditional rule
   * needs more of, what lies before that (read apart, so each source's window is one view of the store, not two).
   */
  private async histories(tx: DetectionTransaction, sources: PassSource[], spans: { oldest: number; newest: number }[], running: number[][]): Promise<SecurityEvent[][]> {
    const reach = running.map((rules) => this.historyMsFor(rules));
    const histories = await tx.eventsForSources(sources.map(({ tenant, sourceIp }, i) => {
      const { oldest, newest } = spans[i]!;
      return { tenant, sourceIp, from: oldest - reach[i]!.before, to: newest + reach[i]!.after };
    }));
    const further: { i: number; from: number }[] = [];
    for (const [i, { tenant, sourceIp, triggers }] of sources.entries()) {
      const readFrom = spans[i]!.oldest - reach[i]!.before;
      let from = readFrom;
      for (const r of reach[i]!.conditional) from = Math.min(from, this.windowStart(r, { tenant, sourceIp, triggers }, spans[i]!, histories[i]!));
      if (from < readFrom) further.push({ i, from });
    }
    if (further.length === 0) return histories;
    const older = await tx.eventsForSources(further.map(({ i, from }) => ({ tenant: sources[i]!.tenant, sourceIp: sources[i]!.sourceIp, from, to: spans[i]!.oldest - reach[i]!.before - 1 })));
    further.forEach(({ i }, j) => {
      if (older[j]!.length > 0) histories[i] = older[j]!.concat(histories[i]!);
    });
    return histories;
  }

  /**
   * Detects over events that are already stored, in a `Repository.detectQueued` pass (its transaction holds their
   * source locks; on SQLite it is taken at the first write, after every read: `readsFirst`); safe to run again on the
   * same events (incidents are updated, not duplicated).
   */
  detectIn(tx: DetectionTransaction, events: SecurityEvent[]): Promise<DetectionOutcome[]> {
    const sources = this.bySource(events);
    return sources.length === 0 ? Promise.resolve([]) : this.detectInChunks(tx, sources);
  }

  private bySource(events: SecurityEvent[]): PassSource[] {
    const groups = new Map<string, SecurityEvent[]>();
    for (const e of events) {
      const key = `${e.tenant}\u0000${e.sourceIp}`;
      const group = groups.get(key);
      if (group) group.push(e);
      else groups.set(key, [e]);
    }
    return [...groups.values()].map((triggers) => ({ tenant: triggers[0]!.tenant, sourceIp: triggers[0]!.sourceIp, triggers }));
  }

  /**
   * A large pass (every active source, each with its whole window) is taken `sourcesPerChunk` sources at a time: the
   * windows of one chunk are in memory at once, not those of the whole pass. When the store asks for reads first
   * (`readsFirst`: its write lock is the only one), every chunk is assessed before anything is recorded.
   */
  private async detectInChunks(tx: DetectionTransaction, sources: PassSource[]): Promise<DetectionOutcome[]> {
    const outcomes: DetectionOutcome[] = [];
    const assessed: Assessment[][] = [];
    for (let i = 0; i < sources.length; i += sourcesPerChunk) {
      const chunk = await this.assess(tx, sources.slice(i, i + sourcesPerChunk));
      if (tx.readsFirst) assessed.push(chunk);
      else outcomes.push(...await this.recordAll(tx, chunk));
    }
    for (const chunk of assessed) outcomes.push(...await this.recordAll(tx, chunk));
    return outcomes;
  }

  /** Reads the sources' windows and runs the rules and the model over them; writes nothing. */
  private async assess(tx: DetectionTransaction, sources: PassSource[]): Promise<Assessment[]> {
    const spans = sources.map(({ triggers }) => {
      let oldest = Infinity;
      let newest = -Infinity;
      for (const t of triggers) {
        if (t.time < oldest) oldest = t.time;
        if (t.time > newest) newest = t.time;
      }
      return { oldest, newest };
    });
    const running = sources.map(({ triggers }) => this.rulesFor(triggers));
    const histories = await this.histories(tx, sources, spans, running);
    const detections: Detection[][] = [];
    let slice = performance.now();
    for (const [i, { tenant, sourceIp, triggers }] of sources.entries()) {
      // Requests are served between slices of the rules' work, not only once a chunk is done.
      if (performance.now() - slice >= computeSliceMs) {
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
      const { newest } = spans[i]!;
      detections.push(running[i]!.flatMap((r) => {
        // Each rule gets its own window around the triggers, not the widest one (its windowMs says how far it looks);
        // a conditional rule's starts where it said it needs (`historyFrom`), which gives it the same detections, even
        // when other rules had more of the history read (a source sending only failed logins: login-after-failures
        // gets the pass's own events, not the 300 s the spraying rule and the model read; Cowrie's commands: the
        // download rule judges the pass's commands, not every command of the last 300 s).
        const w = this.ruleWindows[r]!;
        const start = this.windowStart(r, { tenant, sourceIp, triggers }, spans[i]!, histories[i]!);
        return detectSeparately(this.rules[r]!, { tenant, sourceIp, triggers, events: between(histories[i]!, start - 1, newest + w), config: this.options.config }, w);
      }));
    }

    const adjustments: RiskAdjustment[] = sources.map(() => ({ riskDelta: 0, anomaly: false }));
    const models: ({ version: string; score: number } | undefined)[] = sources.map(() => undefined);
    const behaviourEvents: SecurityEvent[][] = sources.map(() => []);
    if (this.options.anomalyModel) {
      // A window ending at the newest trigger of each stretch of the source's triggers (stretches more than the
      // window apart): a batch spanning an hour is scored where its activity was, not only in its last 300 s. The
      // source's score is its highest.
      const behaviourMs = behaviourWindowSeconds * 1000;
      const windows = sources.map(({ triggers }, i) => clusters(oldestFirst(triggers), behaviourMs)
        .map((run) => between(histories[i]!, run.at(-1)!.time - behaviourMs, run.at(-1)!.time)));
      const rows = windows.flatMap((ws) => ws.map((w) => featureVector(sourceBehaviourOf(w, behaviourWindowSeconds))));
      // One batched model run for every source of the batch: a run has a fixed cost far above a row's.
      const started = performance.now();
      let probabilities: readonly number[] = [];
      try {
        probabilities = await this.options.anomalyModel.score(rows);
        this.options.onInference?.((performance.now() - started) / 1000);
      } catch (err) {
        // The rules still detect: a failing model must not keep every incident from being raised.
        this.options.onModelError?.(err as Error);
      }
      let row = 0;
      sources.forEach((_, i) => {
        let probability: number | undefined;
        for (const w of windows[i]!) {
          const p = probabilities[row++];
          if (p !== undefined && (probability === undefined || p > probability)) {
            probability = p;
            behaviourEvents[i] = w;
          }
        }
        if (probability === undefined) return;
        adjustments[i] = riskAdjustment(probability, this.options.config.anomalyThreshold);
        models[i] = { version: this.options.anomalyModel!.version, score: Math.round(probability * 1000) / 1000 };
      });
    }

    return sources.map(({ tenant, sourceIp }, i) => {
      const adjustment = adjustments[i]!;
      const model = models[i];
      const found = detections[i]!.map((d) => ({ detection: d, key: d.technique.id }));
      if (adjustment.anomaly && found.length === 0 && model) {
        const window = behaviourEvents[i]!;
        found.push({
          key: "anomaly",
          detection: {
            rule: anomalyRuleName,
            technique: { id: "anomaly", name: "Anomalous behaviour", tactic: "" },
            sourceIp,
            actor: "",
            events: window.slice(-200),
            riskScore: anomalyBaseRisk,
            summary: `model ${model.version} scored ${sourceIp}'s last ${behaviourWindowSeconds}s of activity (${window.length} events) at ${model.score}`,
            dedupeWindowMs: behaviourWindowSeconds * 1000,
          },
        });
      }
      // What the configuration says not to record raises nothing: no incident, no count.
      return { tenant, triggers: sources[i]!.triggers, detections: found.filter(({ detection, key }) => !this.suppressions.covers(detection, key)), adjustment, model };
    });
  }

  /**
   * Records a chunk's detections in a few round trips: their merge candidates looked up together, the incidents
   * saved together, their evidence linked together. A pass holds each source once and every rule has its own technique,
   * so each tenant+source+actor+key comes once; a repeated one (possible with other rule sets) is recorded after the
   * others, in a batch of its own, so it merges into what they recorded.
   */
  private async recordAll(tx: DetectionTransaction, assessed: Assessment[]): Promise<DetectionOutcome[]> {
    const first: ToRecord[] = [];
    const repeated: ToRecord[] = [];
    const keys = new Set<string>();
    for (const { tenant, triggers, detections, adjustment, model } of assessed) {
      if (detections.length === 0) continue;
      const passTriggers = triggerSet(triggers);
      for (const { detection, key } of detections) {
        const k = `${tenant}\u0000${detection.sourceIp}\u0000${detection.actor}\u0000${key}`;
        (keys.has(k) ? repeated : first).push({ tenant, detection, key, triggers: triggerSpan(detection, passTriggers), adjustment, model });
        keys.add(k);
      }
    }
    const outcomes = await this.recordBatch(tx, first);
    for (const item of repeated) outcomes.push(...await this.recordBatch(tx, [item]));
    return outcomes;
  }

  /**
   * Records detections: each merges into an unresolved incident it overlaps, or else, when all its triggers lie within a
   * resolved incident's span (a late record of activity an analyst already resolved: a second sensor, a slow
   * forwarder), only adds its evidence within that span to it, leaving status, severity, risk and span as the analyst
   * resolved them; otherwise (a trigger outside every resolved span: new activity) it opens a new incident.
   */
  private async recordBatch(tx: DetectionTransaction, items: ToRecord[]): Promise<DetectionOutcome[]> {
    if (items.length === 0) return [];
    const now = this.now();
    const found = await tx.findMergeableIncidents(items.map(({ tenant, detection: d, key, triggers }) => ({
      tenant, sourceIp: d.sourceIp, actor: d.actor, detectionKey: key, from: d.events[0]!.time - d.dedupeWindowMs, to: d.events.at(-1)!.time + d.dedupeWindowMs, triggers,
    })));
    const recorded = items.map((item, i) => {
      this.options.onDetection?.({ rule: item.detection.rule, techniqueId: item.key });
      const existing = found[i];
      if (existing?.status === "resolved") return { incident: { ...existing }, created: false, resolved: true };
      return { incident: existing ? this.merged(existing, item, now) : this.created(item, now), created: !existing, resolved: false };
    });
    await tx.saveIncidents(recorded.filter((r) => !r.resolved));
    const evidence = await tx.linkEvidenceTo(recorded.map(({ incident, resolved }, i) => {
      const events = items[i]!.detection.events;
      return { tenant: incident.tenant, incidentId: incident.id, events: resolved ? events.filter((e) => e.time >= incident.firstSeen && e.time <= incident.lastSeen) : events };
    }));
    return recorded.map(({ incident, created }, i) => ({ incident: { ...incident, evidence: evidence[i]! }, created }));
  }

  /**
   * The risk and severity of a detection after the model's adjustment. Severity follows the final risk, the model's
   * agreement being part of it (+10..+20), so a higher risk is never a lower severity: a level added on top of the
   * risk made a load balancer health-checking 25 NodePorts (port scan 40, +20) critical at 60 while an outsider's
   * cluster-admin binding was high at 80.
   */
  private scored({ detection: d, adjustment }: ToRecord): { riskScore: number; severity: Severity } {
    const delta = adjustment.riskDelta < 0 && !modelMayLower(d) ? 0 : adjustment.riskDelta;
    const riskScore = clampRisk(d.riskScore + delta);
    return { riskScore, severity: severityForRisk(riskScore) };
  }

  /** An unresolved incident the detection overlaps, updated with it. */
  private merged(existing: Incident, item: ToRecord, now: number): Incident {
    const { detection: d, model } = item;
    const { riskScore, severity } = this.scored(item);
    return {
      ...existing,
      firstSeen: Math.min(existing.firstSeen, d.events[0]!.time),
      lastSeen: Math.max(existing.lastSeen, d.events.at(-1)!.time),
      riskScore: Math.max(existing.riskScore, riskScore),
      severity: higher(existing.severity, severity),
      summary: d.summary,
      detectedBy: { rules: [...new Set([...existing.detectedBy.rules, d.rule])], ...(model ?? existing.detectedBy.model ? { model: model ?? existing.detectedBy.model } : {}) },
      updatedAt: now,
    };
  }

  /** A new incident for the detection. */
  private created(item: ToRecord, now: number): Incident {
    const { tenant, detection: d, key, model } = item;
    const { riskScore, severity } = this.scored(item);
    return {
      id: randomUUID(),
      tenant,
      sourceIp: d.sourceIp,
      actor: d.actor,
      detectionKey: key,
      techniques: key === "anomaly" ? [] : [d.technique],
      severity,
      riskScore,
      status: "open",
      firstSeen: d.events[0]!.time,
      lastSeen: d.events.at(-1)!.time,
      summary: d.summary,
      evidence: { counts: {}, total: 0 },
      detectedBy: { rules: [d.rule], ...(model ? { model } : {}) },
      recommendedAction: this.options.containment === "block" ? { type: "block", sourceIp: d.sourceIp } : null,
      createdAt: now,
      updatedAt: now,
      statusChangedBy: null,
    };
  }
}
