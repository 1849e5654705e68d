import committedMetadata from "./model-metadata.json" with { type: "json" };

/** The threshold the committed model was tuned for (MODEL_CARD.md); detection.anomalyThreshold overrides it. */
export const DEFAULT_ANOMALY_THRESHOLD: number = committedMetadata.threshold;
