// What a rule is: a pure function from the events of one tenant+source around a batch to detections.
import { firstAtOrAfter } from "../events/eventOrder.ts";
import type { EventKind, SecurityEvent } from "../events/securityEvent.ts";
import type { DetectionConfig } from "../config/detectorConfig.ts";
import type { Technique } from "./attackTechniques.ts";

export interface RuleInput {
  tenant: string;
  sourceIp: string;
  /** The events of this batch for the source: a detection must involve at least one of them. */
  triggers: SecurityEvent[];
  /** Every stored event of the source within this rule's window (`windowMs`) around the triggers, oldest first. */
  events: SecurityEvent[];
  config: DetectionConfig;
}

export interface Detection {
  rule: string;
  technique: Technique;
  sourceIp: string;
  actor: string;
  /** The evidence, oldest first; first and last seen are their event times. */
  events: SecurityEvent[];
  riskScore: number;
  summary: string;
  /** How far apart (ms of event time) detections may be and still update the same incident. */
  dedupeWindowMs: number;
}

export interface DetectionRule {
  name: string;
  technique: Technique;
  /** The event-time span the rule looks at, so the engine loads enough history. */
  windowMs(config: DetectionConfig): number;
  /**
   * The kinds of event that can be the trigger a detection of this rule involves: the engine skips the rule for a
   * source none of whose triggers has one of them.
   */
  triggerKinds: readonly EventKind[];
  /**
   * For a rule whose detections need history before the triggers only in some cases (a sequence rule: only around a
   * success, or for a download with no login since the triggers began): the earliest event time its detection over
   * `input` can need, judged from `input.events` holding only the source's stored events from the oldest trigger on
   * (to `windowMs` after the newest). `detect` must then give the same detections over any window that starts at or
   * before that time as over its whole window. Infinity: nothing before the oldest trigger. Without it the engine reads
   * the whole window before the triggers.
   */
  historyFrom?(input: RuleInput): number;
  detect(input: RuleInput): Detection[];
}

/** A running measure over a sliding window of events; `reached` must only grow as events are added. */
export interface WindowMeasure {
  add(e: SecurityEvent): void;
  remove(e: SecurityEvent): void;
  reached(): boolean;
}

/**
 * The events oldest first: as given when they already are (windows come from the store oldest first, and checking is
 * cheaper than sorting a copy), else a sorted copy (a rule may also be called directly).
 */
export function oldestFirst(events: SecurityEvent[]): SecurityEvent[] {
  for (let i = 1; i < events.length; i++) if (events[i - 1]!.time > events[i]!.time) return [...events].sort((a, b) => a.time - b.time);
  return events;
}

/**
 * Which of `events` (oldest first) are triggers: 1 for a trigger, 0 otherwise. Only events within the triggers' span of
 * event time are looked up by id (a trigger is one of the source's stored events, so its copy in a window has its time):
 * once a window is full, most of it lies before that span, and looking every event up cost more than the scan itself.
 */
export function triggerFlags(sorted: readonly SecurityEvent[], triggers: readonly SecurityEvent[]): Uint8Array {
  const flags = new Uint8Array(sorted.length);
  if (triggers.length === 0) return flags;
  let from = Infinity;
  let to = -Infinity;
  const ids = new Set<string>();
  for (const t of triggers) {
    ids.add(t.id);
    if (t.time < from) from = t.time;
    if (t.time > to) to = t.time;
  }
  for (let i = firstAtOrAfter(sorted, from); i < sorted.length; i++) {
    const e = sorted[i]!;
    if (e.time > to) break;
    if (ids.has(e.id)) flags[i] = 1;
  }
  return flags;
}

/**
 * Every event inside some window of `windowMs` event time that reaches the measure and holds a trigger.
 * Events may have arrived in any order: the window is over event time, and the stored history fills it.
 * In one walk: the window starting at each event ends no earlier than the one before it, so the union of the windows
 * that count is taken by appending what each adds past the last one taken (filling every window was quadratic in a
 * busy source's window).
 */
export function eventsInReachingWindows(events: SecurityEvent[], triggers: SecurityEvent[], windowMs: number, measure: WindowMeasure): SecurityEvent[] {
  const out: SecurityEvent[] = [];
  if (events.length === 0 || triggers.length === 0) return out;
  const sorted = oldestFirst(events);
  const n = sorted.length;
  const isTrigger = triggerFlags(sorted, triggers);
  /** The first trigger at or after the window's start (n when none). */
  let nextTrigger = 0;
  let right = 0;
  let takenTo = 0;
  for (let left = 0; left < n; left++) {
    while (right < n && sorted[right]!.time - sorted[left]!.time <= windowMs) measure.add(sorted[right++]!);
    if (nextTrigger < left) nextTrigger = left;
    while (nextTrigger < n && isTrigger[nextTrigger] === 0) nextTrigger++;
    if (nextTrigger < right && measure.reached()) {
      for (let i = Math.max(left, takenTo); i < right; i++) out.push(sorted[i]!);
      takenTo = right;
    }
    measure.remove(sorted[left]!);
  }
  return out;
}

/**
 * `events.filter(keep)`, but `events` itself when every event is kept (a source sending one kind of event: its window,
 * not a copy of it). Neither is changed afterwards.
 */
export function only(events: SecurityEvent[], keep: (e: SecurityEvent) => boolean): SecurityEvent[] {
  for (let i = 0; i < events.length; i++) {
    if (keep(events[i]!)) continue;
    const out = events.slice(0, i);
    for (let j = i + 1; j < events.length; j++) if (keep(events[j]!)) out.push(events[j]!);
    return out;
  }
  return events;
}

export function countAtLeast(n: number): WindowMeasure {
  let count = 0;
  return { add: () => void count++, remove: () => void count--, reached: () => count >= n };
}

/** Counts distinct values of a key (events without one are not counted). */
export class DistinctCounter {
  private readonly counts = new Map<string, number>();
  private readonly key: (e: SecurityEvent) => string | undefined;

  constructor(key: (e: SecurityEvent) => string | undefined) {
    this.key = key;
  }

  add(e: SecurityEvent): void {
    const k = this.key(e);
    if (k !== undefined) this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  remove(e: SecurityEvent): void {
    const k = this.key(e);
    if (k === undefined) return;
    const n = (this.counts.get(k) ?? 0) - 1;
    if (n <= 0) this.counts.delete(k);
    else this.counts.set(k, n);
  }

  get size(): number {
    return this.counts.size;
  }
}

export function distinctAtLeast(n: number, key: (e: SecurityEvent) => string | undefined): WindowMeasure {
  const distinct = new DistinctCounter(key);
  return { add: (e) => distinct.add(e), remove: (e) => distinct.remove(e), reached: () => distinct.size >= n };
}

export function sumAtLeast(n: number, value: (e: SecurityEvent) => number): WindowMeasure {
  let sum = 0;
  return { add: (e) => void (sum += value(e)), remove: (e) => void (sum -= value(e)), reached: () => sum >= n };
}

export const seconds = (s: number) => s * 1000;
