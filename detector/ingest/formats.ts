// The ingest formats by the path segment they are posted to: POST /api/v1/ingest/<name>.
import type { IngestFormat } from "./ingestFormat.ts";
import { cowrieFormat } from "./cowrie.ts";
import { genericFormat } from "./generic.ts";
import { k8sAuditFormat } from "./k8sAudit.ts";
import { suricataFormat } from "./suricata.ts";

export const ingestFormats: Record<string, IngestFormat> = {
  cowrie: cowrieFormat,
  suricata: suricataFormat,
  "k8s-audit": k8sAuditFormat,
  events: genericFormat,
};
