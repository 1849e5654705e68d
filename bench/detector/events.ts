// Synthetic Cowrie and generic events, each unique (so none is a duplicate) with a current timestamp, spread over a
// pool of source IPs the way a honeypot sees many attackers. Bodies are JSON arrays (one object for batch 1).
const sourceIps = Array.from({ length: 500 }, (_, i) => `203.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
const usernames = ["root", "admin", "ubuntu", "pi", "oracle", "test", "user", "postgres"];
let counter = 0;

function pick<T>(xs: readonly T[], i: number): T {
  return xs[i % xs.length]!;
}

function cowrieRecord(n: number, ts: string): Record<string, unknown> {
  const ip = pick(sourceIps, n * 7919);
  const session = `s${n.toString(16)}`;
  const r = n % 10;
  if (r < 7) return { eventid: "cowrie.login.failed", timestamp: ts, src_ip: ip, src_port: 40000 + (n % 20000), dst_ip: "10.0.0.5", dst_port: 22, session, sensor: "hp-1", protocol: "ssh", username: pick(usernames, n), password: `pw${n % 97}`, message: `login attempt [${pick(usernames, n)}/pw${n % 97}] failed` };
  if (r < 9) return { eventid: "cowrie.session.connect", timestamp: ts, src_ip: ip, src_port: 40000 + (n % 20000), dst_ip: "10.0.0.5", dst_port: 22, session, sensor: "hp-1", protocol: "ssh", message: `New connection: ${ip}` };
  return { eventid: "cowrie.command.input", timestamp: ts, src_ip: ip, session, sensor: "hp-1", protocol: "ssh", input: "uname -a", message: "CMD: uname -a" };
}

function genericRecord(n: number, ts: string): Record<string, unknown> {
  const ip = pick(sourceIps, n * 7919);
  if (n % 2 === 0) return { id: `bench-${process.pid}-${n}`, timestamp: ts, type: "auth.failure", sourceIp: ip, destIp: "10.0.0.7", destPort: 22, protocol: "ssh", username: pick(usernames, n), sensor: "gw-1" };
  return { id: `bench-${process.pid}-${n}`, timestamp: ts, type: "network.flow", sourceIp: ip, destIp: "10.0.0.7", destPort: 1 + (n % 1024), protocol: "tcp", bytesOut: 512 + (n % 4096), bytesIn: 128, sensor: "gw-1" };
}

export type EventFormat = "cowrie" | "generic";
/** The ingest path segment of each format. */
export const ingestPath: Record<EventFormat, string> = { cowrie: "cowrie", generic: "events" };

/** A batch's body; its events' time is now, or `time` (ms) when given. */
export function body(format: EventFormat, batch: number, time?: number): string {
  const ts = new Date(time ?? Date.now()).toISOString();
  const make = format === "cowrie" ? cowrieRecord : genericRecord;
  if (batch === 1) return JSON.stringify(make(counter++, ts));
  const records = new Array<Record<string, unknown>>(batch);
  for (let i = 0; i < batch; i++) records[i] = make(counter++, ts);
  return JSON.stringify(records);
}
