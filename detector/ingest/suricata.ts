// Suricata EVE JSON records (eve.json): alert, flow, ssh and http are used by rules; other network records are kept as "other".
import { z } from "zod";
import type { EventKind, SecurityEvent } from "../events/securityEvent.ts";
import { byteCountField, digestId, eventTime, ipField, portField, requiredMessage, timestampField } from "./fields.ts";
import { ignoredRecord, type IngestFormat, type NormalizeContext } from "./ingestFormat.ts";
import { parseRecordBatch } from "./recordBatch.ts";

const alert = z.looseObject({
  // A local rule without `msg` has an empty signature; severity is the rule's priority, which the `priority` keyword
  // and classification.config set from 1 to 255.
  signature: z.string(),
  signature_id: z.number().int().optional(),
  category: z.string().optional(),
  severity: z.number().int().min(1).max(255).optional(),
  action: z.string().optional(),
});

const flow = z.looseObject({
  bytes_toserver: byteCountField,
  bytes_toclient: byteCountField,
  pkts_toserver: byteCountField.optional(),
  pkts_toclient: byteCountField.optional(),
  state: z.string().optional(),
});

const sshHost = z.looseObject({ software_version: z.string().optional(), proto_version: z.string().optional() });
const ssh = z.looseObject({ client: sshHost.optional(), server: sshHost.optional() });

const http = z.looseObject({
  hostname: z.string().optional(),
  url: z.string().optional(),
  http_method: z.string().optional(),
  http_user_agent: z.string().optional(),
  status: z.number().int().optional(),
  length: byteCountField.optional(),
});

/** Fields each event_type must carry beyond the common ones. */
const requiredByType: Record<string, z.ZodRawShape> = {
  // Decoder-event alerts (`alert pkthdr`) and non-IP traffic carry no addresses: ignored like other address-less records.
  alert: { alert },
  flow: { src_ip: ipField, flow },
  ssh: { src_ip: ipField, ssh },
  http: { src_ip: ipField, http },
};

const common = z.looseObject({
  timestamp: timestampField,
  event_type: z.string().min(1),
  src_ip: ipField.optional(),
  dest_ip: ipField.optional(),
  src_port: portField.optional(),
  dest_port: portField.optional(),
  proto: z.string().optional(),
  // Not used; other EVE producers write ids beyond 2^53, which JSON numbers cannot hold exactly.
  flow_id: z.number().optional(),
  host: z.string().optional(),
});

export const suricataRecordSchema = common.superRefine((record, ctx) => {
  const extra = requiredByType[record.event_type];
  if (!extra) return;
  const result = z.looseObject(extra).safeParse(record);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: "custom", message: requiredMessage(issue, `event_type ${record.event_type}`), path: issue.path });
});

type SuricataRecord = z.infer<typeof common> & {
  alert?: z.infer<typeof alert>;
  flow?: z.infer<typeof flow>;
  ssh?: z.infer<typeof ssh>;
  http?: z.infer<typeof http>;
};

const kindByType: Record<string, EventKind> = { alert: "network.alert", flow: "network.flow", ssh: "ssh.handshake", http: "http.request" };

export const suricataFormat: IngestFormat = {
  source: "suricata",
  records: parseRecordBatch,
  schema: suricataRecordSchema,
  normalize(raw: unknown, ctx: NormalizeContext): SecurityEvent | typeof ignoredRecord {
    const r = raw as SuricataRecord;
    // Engine records (stats) are about Suricata itself; a record of another type without a source address has nothing
    // to be attributed to.
    if (r.event_type === "stats" || r.src_ip === undefined) return ignoredRecord;
    const event: SecurityEvent = {
      tenant: ctx.tenant,
      id: digestId("suricata", raw, eventTime(r.timestamp)),
      source: "suricata",
      kind: kindByType[r.event_type] ?? "other",
      sourceType: r.event_type,
      time: eventTime(r.timestamp),
      receivedAt: ctx.receivedAt,
      sourceIp: r.src_ip,
      actor: "",
      sensor: r.host,
      destIp: r.dest_ip,
      destPort: r.dest_port,
      protocol: r.proto,
    };
    if (r.alert) {
      const signature = r.alert.signature || (r.alert.signature_id !== undefined ? `sid:${r.alert.signature_id}` : "(no signature)");
      event.alert = { signature, signatureId: r.alert.signature_id, category: r.alert.category, severity: r.alert.severity, action: r.alert.action };
    }
    if (r.flow) {
      event.bytesOut = r.flow.bytes_toserver;
      event.bytesIn = r.flow.bytes_toclient;
    }
    if (r.ssh) event.message = r.ssh.client?.software_version;
    if (r.http) {
      event.http = { method: r.http.http_method, host: r.http.hostname, url: r.http.url, status: r.http.status, userAgent: r.http.http_user_agent };
      event.url = r.http.url;
    }
    return event;
  },
};
