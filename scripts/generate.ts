// Writes crds/, config/rbac/role.yaml, config/namespaced/*role.yaml and the reference from the operator's code. `npm run generate`; a unit test fails when a generated file drifts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderGeneratedFiles } from "../operator/api/generated-files.ts";

for (const [file, content] of Object.entries(renderGeneratedFiles())) {
  writeFileSync(join(import.meta.dirname, "..", file), content);
  console.log(`wrote ${file}`);
}
