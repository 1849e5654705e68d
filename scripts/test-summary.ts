// Prints vitest's totals as one plain line ("Tests: N passed, N failed, N skipped") after `vitest run`,
// the closing line CI reads to know tests ran.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".vitest-results.json";
const r = JSON.parse(readFileSync(file, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
if (r.numPassedTests === 0) {
  console.error("no test ran");
  process.exit(1);
}
