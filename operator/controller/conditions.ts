// One helper sets conditions, in the metav1.Condition shape; lastTransitionTime moves only when status does.
import type { Condition } from "../api/minixdr.ts";

export type ConditionType = "Ready" | "Reconciled" | "Progressing" | "Degraded" | "Paused";
export interface ConditionInput {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

export function setCondition(existing: Condition[], input: ConditionInput, generation: number, now: () => string): Condition[] {
  const previous = existing.find((c) => c.type === input.type);
  const lastTransitionTime = previous && previous.status === input.status ? previous.lastTransitionTime : now();
  const next: Condition = { ...input, observedGeneration: generation, lastTransitionTime };
  return previous ? existing.map((c) => (c.type === input.type ? next : c)) : [...existing, next];
}
