import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { childMeta, compact, names, type ChildObject } from "./meta.ts";

/** The claim that holds the SQLite database; kept when storage moves to postgres, so no data is deleted by a spec edit. */
export function renderDataVolumeClaim(cr: MiniXdr, spec: MiniXdrSpec): ChildObject | undefined {
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
