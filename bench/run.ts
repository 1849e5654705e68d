// `npm run bench` / `make bench`: every benchmark, or one section with --only operator|detector|inference.
// --quick: a fast smoke pass (few repetitions) written to bench/results/quick/ instead of bench/results/.
import { progress } from "./support/progress.ts";
import { markdownTable, writeLatest, writeSection, type SectionResult } from "./support/results.ts";

const sections = ["operator", "detector", "inference"] as const;
type Section = (typeof sections)[number];

function parseArgs(argv: string[]): { only: Section[]; quick: boolean } {
  let only: Section[] = [...sections];
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      const list = (v ?? "").split(",");
      if (list.some((s) => !(sections as readonly string[]).includes(s))) usage(`--only takes ${sections.join("|")} (comma-separated), got ${JSON.stringify(v)}`);
      only = list as Section[];
    } else if (a === "--help" || a === "-h") usage();
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  return { only, quick };
}

function usage(problem?: string): never {
  if (problem) console.error(problem);
  console.error("usage: node bench/run.ts [--only operator|detector|inference] [--quick]");
  process.exit(problem ? 2 : 0);
}

const { only, quick } = parseArgs(process.argv.slice(2));
const started = performance.now();
let failed = false;
for (const section of only) {
  progress(section, `starting (${only.indexOf(section) + 1} of ${only.length} sections)${quick ? ", quick pass" : ""}`);
  let result: SectionResult;
  try {
    if (section === "operator") result = await (await import("./operator/index.ts")).runOperatorSection({ quick });
    else if (section === "detector") result = await (await import("./detector/index.ts")).runDetectorSection({ quick });
    else result = await (await import("./inference.ts")).runInferenceSection({ quick });
  } catch (err) {
    failed = true;
    console.error(`[bench] ${section} failed: ${(err as Error).stack ?? String(err)}`);
    continue;
  }
  const file = writeSection(result);
  progress(section, `done; wrote ${file}`);
  console.log(`\n## ${section}\n\n${markdownTable(result.rows)}\n`);
}
const latest = writeLatest(quick);
progress("bench", `finished in ${((performance.now() - started) / 1000).toFixed(0)} s; table in ${latest}`);
process.exit(failed ? 1 : 0);
