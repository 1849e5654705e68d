// Notices a rotated Secret. The kubelet updates a mounted Secret's files in place (an atomic swap of the directory's
// `..data` link) when the Secret changes: after an ExternalSecret syncs a new value, or a user edits an existing
// Secret. The detector reads the files every `intervalMs` and hands a changed, valid set to `onChange`; an invalid
// set is reported and the secrets in use stay.
import { createHash } from "node:crypto";
import { readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import type { DetectorConfig } from "./detectorConfig.ts";
import { loadDetectorSecrets, secretKeys, type DetectorSecrets } from "./detectorSecrets.ts";

/** How often the mounted Secret is read by default; the kubelet itself takes up to about a minute to update it. */
export const defaultSecretsReloadMs = 10_000;

/**
 * The directory to read one consistent set from: the generation `..data` points at when the kubelet mounted it (each
 * key is a link through `..data`, so reading the keys one by one could straddle a swap), else the directory itself.
 */
export async function secretsSnapshot(dir: string): Promise<string> {
  return realpath(join(dir, "..data")).catch(() => dir);
}

/** A digest of every key's file as it is now (a missing file counts as such). */
export async function secretsFingerprint(dir: string): Promise<string> {
  const hash = createHash("sha256");
  for (const key of secretKeys) {
    const content = await readFile(join(dir, key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    hash.update(`${key}\u0000${content === undefined ? "-" : `+${content.length}:`}`);
    if (content) hash.update(content);
  }
  return hash.digest("hex");
}

export interface SecretsWatcherOptions {
  dir: string;
  config: DetectorConfig;
  /** The fingerprint of the files the secrets in use were read from. */
  fingerprint: string;
  intervalMs?: number;
  /** Takes the new values; when it throws, the same values are handed over again at the next check. */
  onChange(secrets: DetectorSecrets): Promise<void>;
  /** The files changed but do not make a valid set (or could not be read); the secrets in use stay. */
  onInvalid(err: Error): void;
}

export class SecretsWatcher {
  private readonly options: SecretsWatcherOptions;
  private fingerprint: string;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;

  constructor(options: SecretsWatcherOptions) {
    this.options = options;
    this.fingerprint = options.fingerprint;
  }

  start(): void {
    this.schedule();
  }

  /** Reads the files now; resolves once a change found has been handed over. */
  check(): Promise<void> {
    return (this.checking ??= this.compare().finally(() => (this.checking = undefined)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check().finally(() => this.schedule()), this.options.intervalMs ?? defaultSecretsReloadMs);
    this.timer.unref();
  }

  private async compare(): Promise<void> {
    let next: DetectorSecrets;
    let fingerprint: string;
    try {
      const snapshot = await secretsSnapshot(this.options.dir);
      fingerprint = await secretsFingerprint(snapshot);
      if (fingerprint === this.fingerprint) return;
      next = await loadDetectorSecrets(snapshot, this.options.config);
    } catch (err) {
      // Remembered, so one bad value is reported once, not at every check; a corrected value is read again.
      if (fingerprint! !== undefined) this.fingerprint = fingerprint;
      this.options.onInvalid(err as Error);
      return;
    }
    if (this.stopped) return;
    try {
      await this.options.onChange(next);
      this.fingerprint = fingerprint;
    } catch {
      // onChange reported it; the fingerprint stays, so the next check tries again.
    }
  }
}
