// Where the detector's secrets come from: generated once by the operator, the user's own Secret, or an ExternalSecret.
import type { V1Secret, V1Volume, V1VolumeProjection } from "@kubernetes/client-node";
import type { MiniXdr, MiniXdrSpec } from "../api/minixdr.ts";
import { childMeta, names, type Child, type ChildObject } from "./meta.ts";

export const secretKeys = {
  jwtSigningKey: "jwt-signing-key",
  adminPasswordHash: "admin-password-hash",
  adminPassword: "admin-password",
  ingestToken: "ingest-token",
  databaseUrl: "database-url",
} as const;

/** The name of the Secret the detector mounts. */
export function instanceSecretName(cr: MiniXdr, spec: MiniXdrSpec): string {
  if (spec.secrets.existingSecret) return spec.secrets.existingSecret;
  if (spec.secrets.externalSecret) return names.externalSecret(cr);
  return names.generatedSecret(cr);
}

/**
 * The operator-generated Secret, without data: the reconciler fills it once at creation (random values)
 * and never rewrites it, so keys are never rotated behind the user's back.
 */
export function renderGeneratedSecret(cr: MiniXdr): Child<V1Secret> {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: childMeta(cr, names.generatedSecret(cr), "secrets"),
    type: "Opaque",
  };
}

export const externalSecretApiVersion = "external-secrets.io/v1";

export function renderExternalSecret(cr: MiniXdr, spec: MiniXdrSpec): ChildObject | undefined {
  const es = spec.secrets.externalSecret;
  if (!es) return undefined;
  const data: { secretKey: string; remoteRef: { key: string } }[] = [
    { secretKey: secretKeys.jwtSigningKey, remoteRef: { key: es.remoteKeys.jwtSigningKey } },
    { secretKey: secretKeys.adminPasswordHash, remoteRef: { key: es.remoteKeys.adminPasswordHash } },
    { secretKey: secretKeys.ingestToken, remoteRef: { key: es.remoteKeys.ingestToken } },
  ];
  if (es.remoteKeys.databaseUrl) data.push({ secretKey: secretKeys.databaseUrl, remoteRef: { key: es.remoteKeys.databaseUrl } });
  return {
    apiVersion: externalSecretApiVersion,
    kind: "ExternalSecret",
    metadata: childMeta(cr, names.externalSecret(cr), "secrets"),
    spec: {
      refreshInterval: es.refreshInterval,
      secretStoreRef: { name: es.secretStoreRef.name, kind: es.secretStoreRef.kind },
      target: { name: names.externalSecret(cr), creationPolicy: "Owner" },
      data,
    },
  };
}

/** A projected volume with exactly the keys the detector reads, so a missing key stops the pod with a clear reason. */
export function secretsVolume(cr: MiniXdr, spec: MiniXdrSpec): V1Volume {
  const urlRef = spec.storage.type === "postgres" ? spec.storage.postgres?.urlSecretRef : undefined;
  const generated = !spec.secrets.existingSecret && !spec.secrets.externalSecret;
  const keys: string[] = [secretKeys.jwtSigningKey, generated ? secretKeys.adminPassword : secretKeys.adminPasswordHash, secretKeys.ingestToken];
  if (spec.storage.type === "postgres" && !urlRef) keys.push(secretKeys.databaseUrl);
  const sources: V1VolumeProjection[] = [{ secret: { name: instanceSecretName(cr, spec), items: keys.map((k) => ({ key: k, path: k })) } }];
  if (urlRef) sources.push({ secret: { name: urlRef.name, items: [{ key: urlRef.key, path: secretKeys.databaseUrl }] } });
  return { name: "secrets", projected: { defaultMode: 0o440, sources } };
}
