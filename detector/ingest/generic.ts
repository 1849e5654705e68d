// The documented generic event schema (see detector/README.md): our normalized vocabulary, for sources we have no parser for.
import { z } from "zod";
import { eventKinds, type SecurityEvent } from "../events/securityEvent.ts";
import { byteCountField, digestId, eventTime, ipField, portField, timestampField } from "./fields.ts";
import type { IngestFormat, NormalizeContext } from "./ingestFormat.ts";
import { parseRecordBatch } from "./recordBatch.ts";

const genericKinds = eventKinds.filter((k) => k !== "k8s.audit") as [string, ...string[]];

export const genericEventSchema = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  timestamp: timestampField,
  type: z.enum(genericKinds),
  sourceIp: ipField,
  sensor: z.string().max(200).optional(),
  session: z.string().max(200).optional(),
  destIp: ipField.optional(),
  destPort: portField.optional(),
  protocol: z.string().max(20).optional(),
  username: z.string().max(200).optional(),
  password: z.string().max(200).optional(),
  command: z.string().max(10_000).optional(),
  url: z.string().max(2_000).optional(),
  fileHash: z.string().max(200).optional(),
  bytesOut: byteCountField.optional(),
  bytesIn: byteCountField.optional(),
  message: z.string().max(2_000).optional(),
  alert: z.strictObject({
    signature: z.string().min(1),
    signatureId: z.number().int().optional(),
    category: z.string().optional(),
    severity: z.number().int().min(1).max(4).optional(),
  }).optional(),
  http: z.strictObject({
    method: z.string().optional(),
    host: z.string().optional(),
    url: z.string().optional(),
    status: z.number().int().optional(),
    userAgent: z.string().optional(),
  }).optional(),
});

type GenericEvent = z.infer<typeof genericEventSchema>;

export const genericFormat: IngestFormat = {
  source: "generic",
  records: parseRecordBatch,
  schema: genericEventSchema,
  normalize(raw: unknown, ctx: NormalizeContext): SecurityEvent {
    const { id, timestamp, type, ...fields } = raw as GenericEvent;
    return {
      ...fields,
      tenant: ctx.tenant,
      id: id !== undefined ? `generic:${id}` : digestId("generic", raw, eventTime(timestamp)),
      source: "generic",
      kind: type as SecurityEvent["kind"],
      sourceType: type,
      time: eventTime(timestamp),
      receivedAt: ctx.receivedAt,
      actor: "",
    };
  },
};
