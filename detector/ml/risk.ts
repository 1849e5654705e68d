import { DEFAULT_ANOMALY_THRESHOLD } from "./threshold.ts";

export interface RiskAdjustment {
  /** added to the incident's 0..100 risk score (the caller clamps the sum to 0..100) */
  riskDelta: number;
  /** at or above the threshold: raise an anomaly incident even when no rule fired */
  anomaly: boolean;
}

/**
 * How the model's attack probability p adjusts an incident (MODEL_CARD.md, "How the score is used"),
 * with t the anomaly threshold:
 * - p >= t: risk +10 at t rising linearly to +20 at p = 1, anomaly incident;
 * - p <  t: risk -10 at p = 0 rising linearly to 0 at t. A rule that fires on a source the model finds
 *   benign (a user who forgot a password) stays an incident, with less risk.
 * Severity follows the adjusted risk (severityForRisk), so the model moves it only through the risk. The
 * engine does not let a negative delta lower a Kubernetes audit detection (detectionEngine.ts).
 */
export function riskAdjustment(probability: number, threshold: number = DEFAULT_ANOMALY_THRESHOLD): RiskAdjustment {
  if (!(probability >= 0 && probability <= 1)) {
    throw new RangeError(`probability must be in 0..1, got ${probability}`);
  }
  if (!(threshold > 0 && threshold < 1)) {
    throw new RangeError(`threshold must be in (0, 1), got ${threshold}`);
  }
  if (probability >= threshold) {
    return { riskDelta: Math.round(10 + (10 * (probability - threshold)) / (1 - threshold)), anomaly: true };
  }
  // `|| 0` turns -0 into 0
  return { riskDelta: -Math.round(10 * (1 - probability / threshold)) || 0, anomaly: false };
}
