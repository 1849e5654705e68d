import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { childMeta, compact, names, type Child } from "./meta.ts";

/** The claim that holds the SQLite database; kept when storage moves to postgres, so no data is deleted by a spec edit. */
export function renderDataVolumeClaim(cr: MiniXdr, spec: MiniXdrSpec): Child<V1PersistentVolumeClaim> | undefined {
  if (spec.storage.type !== "sqlite") return undefined;
  return compact({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: childMeta(cr, names.data(cr), "detector"),
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: spec.storage.sqlite.storageClassName,
      resources: { requests: { storage: spec.storage.sqlite.size } },
    },
  });
}
