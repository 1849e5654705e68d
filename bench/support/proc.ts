// Memory and CPU of a process from /proc (Linux): VmRSS, VmHWM (peak RSS), and user+system CPU seconds.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux architecture Node supports. */
const clockTicks = 100;

export interface MemoryStatus {
  rssBytes: number;
  peakRssBytes: number;
}

export function memoryOf(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
}

/** User + system CPU seconds the process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Pids of processes whose command line contains every one of `needles` (e.g. a binary name and a data dir). */
export function findPids(needles: string[]): number[] {
  const out: number[] = [];
  for (const entry of readdirSafe("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (needles.every((n) => cmdline.includes(n))) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}


/** Samples a process's RSS every `intervalMs` until stopped; returns the samples' maximum and the kernel's VmHWM. */
export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  maxRssBytes = 0;
  private readonly pid: number;
  constructor(pid: number, intervalMs = 250) {
    this.pid = pid;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }
  private sample(): void {
    try {
      this.maxRssBytes = Math.max(this.maxRssBytes, memoryOf(this.pid).rssBytes);
    } catch {
      // gone
    }
  }
  stop(): MemoryStatus & { maxSampledRssBytes: number } {
    clearInterval(this.timer);
    this.sample();
    return { ...memoryOf(this.pid), maxSampledRssBytes: this.maxRssBytes };
  }
}
