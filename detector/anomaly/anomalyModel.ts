// What the engine needs from the anomaly model, so tests can run without ONNX and the scorer stays swappable.

export interface AnomalyModel {
  version: string;
  /** Attack probabilities (0..1), one per feature row. */
  score(rows: Float32Array[]): Promise<number[]>;
}
