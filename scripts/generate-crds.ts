// Writes crds/ from the operator's zod schema. `npm run generate`; a unit test fails when crds/ drifts from this.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderCrdFiles } from "../operator/api/crd-files.ts";

for (const [file, content] of Object.entries(renderCrdFiles())) {
  writeFileSync(join(import.meta.dirname, "..", file), content);
  console.log(`wrote ${file}`);
}
