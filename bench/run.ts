// `npm run bench` / `make bench`: every benchmark, or one section with --only operator|detector|inference.
// --quick: a fast smoke pass (few repetitions) written to bench/results/quick/ instead of bench/results/.
// --profile: runs the operator and detector processes under --cpu-prof and prints their hottest functions; results go
// to bench/results/profile/ (profiling slows them, so those numbers are not for comparison).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hotFunctions } from "./support/cpuprofile.ts";
import { progress } from "./support/progress.ts";
import { markdownTable, resultsDir, writeLatest, writeSection, type SectionResult } from "./support/results.ts";

const sections = ["operator", "detector", "inference"] as const;
type Section = (typeof sections)[number];

function parseArgs(argv: string[]): { only: Section[]; quick: boolean; profile: boolean } {
  let only: Section[] = [...sections];
  let quick = false;
  let profile = false;
  let tableOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--profile") profile = true;
    else if (a === "--table") tableOnly = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      const list = (v ?? "").split(",");
      if (list.some((s) => !(sections as readonly string[]).includes(s))) usage(`--only takes ${sections.join("|")} (comma-separated), got ${JSON.stringify(v)}`);
      only = list as Section[];
    } else if (a === "--help" || a === "-h") usage();
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  return { only: tableOnly ? [] : only, quick, profile };
}

function usage(problem?: string): never {
  if (problem) console.error(problem);
  console.error("usage: node bench/run.ts [--only operator|detector|inference] [--quick] [--profile] [--table]\n  --table: only rebuild latest.md from the JSON results (and findings.md)");
  process.exit(problem ? 2 : 0);
}

const { only, quick, profile } = parseArgs(process.argv.slice(2));
const variant = profile ? "profile" : quick ? "quick" : "";
const profileDir = join(resultsDir("profile"), "cpuprofiles");
const nodeArgs = profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
// A full run keeps the findings written for it in findings.md (by hand, after reading the table).
const findingsFile = join(resultsDir(variant), "findings.md");
const started = performance.now();
let failed = false;
for (const section of only) {
  progress(section, `starting (${only.indexOf(section) + 1} of ${only.length} sections)${quick ? ", quick pass" : ""}`);
  let result: SectionResult;
  try {
    if (section === "operator") result = await (await import("./operator/index.ts")).runOperatorSection({ quick, nodeArgs });
    else if (section === "detector") result = await (await import("./detector/index.ts")).runDetectorSection({ quick, nodeArgs });
    else result = await (await import("./inference.ts")).runInferenceSection({ quick });
  } catch (err) {
    failed = true;
    console.error(`[bench] ${section} failed: ${(err as Error).stack ?? String(err)}`);
    continue;
  }
  const file = writeSection(result, variant);
  progress(section, `done; wrote ${file}`);
  console.log(`\n## ${section}\n\n${markdownTable(result.rows)}\n`);
}
if (profile && existsSync(profileDir)) {
  for (const f of readdirSync(profileDir).filter((x) => x.endsWith(".cpuprofile"))) {
    console.log(`\nhottest functions (self time) in ${join(profileDir, f)}:`);
    for (const h of hotFunctions(join(profileDir, f), 8)) console.log(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.selfMs.toFixed(0).padStart(7)} ms  ${h.name}`);
  }
}
const latest = writeLatest(variant, existsSync(findingsFile) ? readFileSync(findingsFile, "utf8") : "");
progress("bench", `finished in ${((performance.now() - started) / 1000).toFixed(0)} s; table in ${latest}`);
process.exit(failed ? 1 : 0);
