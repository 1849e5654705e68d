// One helper sets conditions, in the metav1.Condition shape; lastTransitionTime moves only when status does.
import type { Condition } from "../api/minixdr.ts";

export type ConditionType = "Ready" | "Reconciled" | "Progressing" | "Degraded" | "Paused";
export interface ConditionInput {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/**
 * The longest condition message written, in UTF-16 code units (never more characters than that). The CRD allows
 * 32768 (as metav1.Condition does); a longer message makes the whole status write fail with 422 on every retry, so
 * status would stay stale. A quarter of it keeps several long conditions well inside the limit and the object small.
 */
export const maxConditionMessageLength = 8192;
/** The CRD's bound of condition reasons (metav1.Condition's). Our reasons are constants; this only guards them. */
export const maxConditionReasonLength = 1024;

/**
 * Cuts `text` to at most `max` UTF-16 code units, ending with a marker that says how much was left out. Never splits
 * a surrogate pair (a lone surrogate would be stored as U+FFFD, so the status read back would differ from the one
 * written and every pass would write it again). Deterministic: the same text gives the same result.
 */
export function truncateMessage(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = (omitted: number) => ` … [truncated: ${omitted} more characters]`;
  // The marker's own length depends on the number it holds; size it for the largest possible count.
  let cut = Math.max(0, max - marker(text.length).length);
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${text.slice(0, cut)}${marker(text.length - cut)}`;
}

export function setCondition(existing: Condition[], input: ConditionInput, generation: number, now: () => string): Condition[] {
  const previous = existing.find((c) => c.type === input.type);
  const lastTransitionTime = previous && previous.status === input.status ? previous.lastTransitionTime : now();
  const next: Condition = {
    ...input,
    reason: truncateMessage(input.reason, maxConditionReasonLength),
    message: truncateMessage(input.message, maxConditionMessageLength),
    observedGeneration: generation, lastTransitionTime,
  };
  return previous ? existing.map((c) => (c.type === input.type ? next : c)) : [...existing, next];
}
