// Benchmark rows, their JSON files under bench/results/, and the readable table (console and latest.md).
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem, hostname, loadavg, release } from "node:os";
import { join } from "node:path";

export interface Row {
  /** e.g. "operator/create" */
  benchmark: string;
  metric: string;
  value: number;
  unit: string;
  /** The same figure for the in-run baseline; ratio = value ÷ baseline. */
  baseline?: number;
  baselineLabel?: string;
  ratio?: number;
  /** Human-readable target, e.g. "p50 ≤ baseline". */
  target?: string;
  /** undefined: no target for this row. */
  pass?: boolean;
  note?: string;
}

export interface SectionResult {
  section: string;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: Machine;
  rows: Row[];
  /** Raw samples and extra detail, for anyone who wants to recompute. */
  detail: Record<string, unknown>;
}

export interface Machine {
  hostname: string;
  cpus: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  loadAverageAtStart: number[];
  shared: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    hostname: hostname(),
    cpus: c[0]?.model ?? "unknown",
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    shared: "shared development machine: other engineers ran tests at the same time, so absolute numbers are noisy; ratios come from the same run",
  };
}

/** bench/results/ for full runs; bench/results/quick/ or bench/results/profile/ for smoke and profiling passes. */
export function resultsDir(variant: "" | "quick" | "profile"): string {
  return join(import.meta.dirname, "..", "results", variant);
}

export function writeSection(result: SectionResult, variant: "" | "quick" | "profile"): string {
  const dir = resultsDir(variant);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.section}.json`);
  writeFileSync(file, `${JSON.stringify(result, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  return file;
}

export function readSections(variant: "" | "quick" | "profile"): SectionResult[] {
  const dir = resultsDir(variant);
  const order = ["operator", "detector", "inference"];
  return readdirSync(dir).filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as SectionResult)
    .sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section));
}

const nullToNaN = (v: number | null | undefined) => (v === null || v === undefined ? Number.NaN : v);

export function formatValue(v: number | null | undefined, unit: string): string {
  const x = nullToNaN(v);
  if (!Number.isFinite(x)) return "n/a";
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  const n = Math.abs(x) >= 10_000 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);
  return unit ? `${n} ${unit}` : n;
}

function formatRatio(r: number | null | undefined): string {
  const x = nullToNaN(r);
  return Number.isFinite(x) ? `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×` : "—";
}

function verdict(row: Row): string {
  if (row.pass === undefined || row.pass === null) return row.target ? "n/a" : "";
  return row.pass ? "PASS" : "MISS";
}

const escape = (s: string) => s.replaceAll("|", "\\|");

/** A markdown table: readable as plain text on a terminal and rendered on GitHub. */
export function markdownTable(rows: Row[]): string {
  const header = ["benchmark", "metric", "value", "baseline", "ratio", "target", "result", "note"];
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const r of rows) {
    const baseline = r.baseline === undefined ? "" : `${formatValue(r.baseline, r.unit)}${r.baselineLabel ? ` (${r.baselineLabel})` : ""}`;
    lines.push(`| ${[r.benchmark, r.metric, formatValue(r.value, r.unit), baseline, formatRatio(r.ratio), r.target ?? "", verdict(r), r.note ?? ""].map(escape).join(" | ")} |`);
  }
  return lines.join("\n");
}

export function writeLatest(variant: "" | "quick" | "profile", findings = ""): string {
  const sections = readSections(variant);
  const file = join(resultsDir(variant), "latest.md");
  const m = sections[0]?.machine;
  const misses = sections.flatMap((s) => s.rows).filter((r) => r.pass === false);
  const text = [
    `# Benchmark results${variant === "quick" ? " (quick smoke pass: few repetitions, not for comparison)" : variant === "profile" ? " (profiled: --cpu-prof slows the processes; not for comparison)" : ""}`,
    "",
    m ? `Machine: ${m.cores} × ${m.cpus}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}. ${m.shared}.` : "",
    ...sections.map((s) => `- ${s.section}: ${s.startedAt} → ${s.finishedAt} (load average at start ${s.machine.loadAverageAtStart.join(", ")})`),
    "",
    "Ratio = value ÷ baseline, both measured in the same run. Latencies are medians/percentiles over the runs listed; throughputs are medians of repeated runs.",
    "",
    markdownTable(sections.flatMap((s) => s.rows)),
    "",
    misses.length ? `Targets missed: ${misses.length} (see the notes column and the findings below).` : "All targets met.",
    "",
    findings,
  ].join("\n");
  writeFileSync(file, text);
  return file;
}
