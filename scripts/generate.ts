// Writes crds/ and config/rbac/role.yaml from the operator's zod schema. `npm run generate`; a unit test fails when crds/ drifts from this.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderGeneratedFiles } from "../operator/api/generated-files.ts";

for (const [file, content] of Object.entries(renderGeneratedFiles())) {
  writeFileSync(join(import.meta.dirname, "..", file), content);
  console.log(`wrote ${file}`);
}
