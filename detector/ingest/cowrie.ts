// Cowrie honeypot JSON log records (cowrie.json / the JSON output plugin), one per line or batched.
import { z } from "zod";
import type { EventKind, SecurityEvent } from "../events/securityEvent.ts";
import { addressOrUndefined, digestId, eventTime, ipField, portField, requiredMessage, timestampField } from "./fields.ts";
import type { IngestFormat, NormalizeContext } from "./ingestFormat.ts";
import { parseRecordBatch } from "./recordBatch.ts";

const credentials = { username: z.string(), password: z.string() };

/** Fields each Cowrie event id must carry beyond the common ones. */
const requiredByEventId: Record<string, z.ZodRawShape> = {
  "cowrie.login.failed": credentials,
  "cowrie.login.success": credentials,
  "cowrie.command.input": { input: z.string() },
  "cowrie.command.failed": { input: z.string() },
  "cowrie.session.file_download": { url: z.string().min(1), shasum: z.string().optional(), outfile: z.string().optional() },
  "cowrie.session.file_upload": { filename: z.string().min(1), shasum: z.string().optional() },
  "cowrie.session.connect": { dst_port: portField, src_port: portField.optional() },
};

const common = z.looseObject({
  eventid: z.string().regex(/^cowrie\.[a-z0-9_.-]+$/, 'must be a Cowrie event id such as "cowrie.login.failed"'),
  timestamp: timestampField,
  src_ip: ipField,
  session: z.string().min(1).optional(),
  sensor: z.string().optional(),
  src_port: portField.optional(),
  // An address for most records, but the host name the SSH client asked for in direct-tcpip (port forwarding) records.
  dst_ip: z.string().optional(),
  dst_port: portField.optional(),
  protocol: z.string().optional(),
  message: z.union([z.string(), z.array(z.string())]).optional(),
});

/** Built once per shape: zod compiles each object schema on first use, which cost more than validating a record. */
const extraSchemas = new Map<z.ZodRawShape, z.ZodType>();

export const cowrieRecordSchema = common.superRefine((record, ctx) => {
  const extra = requiredByEventId[record.eventid];
  if (!extra) return;
  let schema = extraSchemas.get(extra);
  if (!schema) extraSchemas.set(extra, schema = z.looseObject(extra));
  const result = schema.safeParse(record);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: "custom", message: requiredMessage(issue, record.eventid), path: issue.path });
});

type CowrieRecord = z.infer<typeof common> & Record<string, unknown>;

const kindByEventId: Record<string, EventKind> = {
  "cowrie.login.failed": "auth.failure",
  "cowrie.login.success": "auth.success",
  "cowrie.command.input": "command",
  "cowrie.command.failed": "command",
  "cowrie.session.connect": "session.connect",
  "cowrie.session.closed": "session.closed",
  "cowrie.session.file_download": "file.download",
  "cowrie.session.file_upload": "file.upload",
  "cowrie.client.version": "ssh.handshake",
  "cowrie.client.kex": "ssh.handshake",
};

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export const cowrieFormat: IngestFormat = {
  source: "cowrie",
  records: parseRecordBatch,
  schema: cowrieRecordSchema,
  normalize(raw: unknown, ctx: NormalizeContext): SecurityEvent {
    const r = raw as CowrieRecord;
    const kind = kindByEventId[r.eventid] ?? "other";
    const event: SecurityEvent = {
      tenant: ctx.tenant,
      id: digestId("cowrie", raw, eventTime(r.timestamp)),
      source: "cowrie",
      kind,
      sourceType: r.eventid,
      time: eventTime(r.timestamp),
      receivedAt: ctx.receivedAt,
      sourceIp: r.src_ip,
      actor: "",
      sensor: r.sensor,
      session: r.session,
      destIp: addressOrUndefined(r.dst_ip),
      destPort: r.dst_port,
      protocol: r.protocol,
      message: Array.isArray(r.message) ? r.message.join(" ") : r.message,
    };
    if (kind === "auth.failure" || kind === "auth.success") {
      event.username = str(r.username);
      event.password = str(r.password);
    }
    if (kind === "command") event.command = str(r.input);
    if (kind === "file.download") {
      event.url = str(r.url);
      event.fileHash = str(r.shasum);
    }
    if (kind === "file.upload") {
      event.url = str(r.filename);
      event.fileHash = str(r.shasum);
    }
    return event;
  },
};
