import { readFileSync } from "node:fs";
import type { SourceBehaviour } from "./features.ts";

/** One row of heldout-sample.json, written by train.py from the held-out split. */
export interface HeldoutRow {
  scenario: string;
  /** 1 = attack */
  label: 0 | 1;
  behaviour: SourceBehaviour;
  /** train.py's feature vector for `behaviour` */
  features: number[];
  /** the model's attack probability as train.py computed it */
  probability: number;
}

export function loadHeldoutSample(): HeldoutRow[] {
  return JSON.parse(readFileSync(new URL("./heldout-sample.json", import.meta.url), "utf8")) as HeldoutRow[];
}
