// Generates the MiniXdr CustomResourceDefinition from the zod schema (see scripts/generate.ts).
import { z } from "zod";
import { apiVersion, group, kind, maxNameLength, plural, specSchema, statusSchema, version } from "./minixdr.ts";

type JsonSchema = Record<string, unknown>;
const maxSafe = Number.MAX_SAFE_INTEGER;

/**
 * Turns zod's JSON Schema into a Kubernetes structural schema: no $schema, no additionalProperties: false
 * (unknown fields are refused by field validation instead), no defaults (documented in the description
 * and applied in memory, so GitOps sees no diffs), int-or-string in the form Kubernetes expects.
 */
export function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (node === null || typeof node !== "object") return node;
  const src = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(src)) {
    if (key === "$schema" || key === "propertyNames" || key === "default") continue;
    if (key === "additionalProperties" && (value === false)) continue;
    if ((key === "minimum" && value === -maxSafe) || (key === "maximum" && value === maxSafe)) continue;
    out[key] = toStructural(value);
  }
  if ("default" in src && src.default !== undefined && !(typeof src.default === "object" && src.default !== null)) {
    out.description = `${(out.description as string | undefined)?.replace(/\.?$/, ".") ?? ""} Defaults to ${JSON.stringify(src.default)}.`.trim();
  }
  const additional = out.additionalProperties as JsonSchema | undefined;
  if (additional && Object.keys(additional).length === 0) {
    delete out.additionalProperties;
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  if (out["x-kubernetes-int-or-string"] === true) intOrString(out);
  return out;
}

/**
 * Kubernetes allows int-or-string only as anyOf [integer, string]. The branches' checks move up a level,
 * where pattern and maxLength apply to strings only and minimum to numbers only (no CEL: it costs too much).
 */
function intOrString(out: JsonSchema): void {
  for (const b of (out.anyOf as JsonSchema[] | undefined) ?? []) {
    if (b.type === "string" && typeof b.pattern === "string") Object.assign(out, { pattern: b.pattern, maxLength: 64 });
    if ((b.type === "integer" || b.type === "number") && typeof b.minimum === "number" && b.minimum !== -maxSafe) out.minimum = b.minimum;
  }
  out.anyOf = [{ type: "integer" }, { type: "string" }];
}

function jsonSchema(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" })) as JsonSchema;
}

const readyCondition = '.status.conditions[?(@.type=="Ready")]';

export function miniXdrCrd(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}`, labels: { "app.kubernetes.io/name": "minixdr-operator", "app.kubernetes.io/part-of": "minixdr" } },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames: ["mxdr"], categories: ["minixdr"] },
      scope: "Namespaced",
      versions: [{
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "Ready", type: "string", jsonPath: `${readyCondition}.status` },
          { name: "Reconciled", type: "string", jsonPath: '.status.conditions[?(@.type=="Reconciled")].status', description: "Every child of the latest generation was applied" },
          { name: "Replicas", type: "string", jsonPath: ".status.replicas", description: "Ready/desired detector replicas" },
          { name: "Reason", type: "string", jsonPath: `${readyCondition}.reason` },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          { name: "Endpoint", type: "string", jsonPath: ".status.endpoint", priority: 1 },
          { name: "Image", type: "string", jsonPath: ".status.detector.image", priority: 1 },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            description: `MiniXdr runs a Mini-XDR detector (and optionally its console) from one object. ${apiVersion}.`,
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object" },
              // Server-side apply stores null when a manager removes the last field it set (e.g. paused: true).
              spec: { ...jsonSchema(specSchema), nullable: true },
              status: jsonSchema(statusSchema),
            },
            // Checked at creation only (a name never changes): an object stored before these rules existed must still
            // take spec and status updates, or its status could never say what is wrong and a fix could not be
            // applied. Without `optionalOldSelf` the rules ran on every update and refused them all.
            "x-kubernetes-validations": [{
              rule: `oldSelf.hasValue() || self.metadata.name.size() <= ${maxNameLength}`,
              optionalOldSelf: true,
              message: `metadata.name must be at most ${maxNameLength} characters, so the names of the objects it creates stay valid`,
            }, {
              // Its Services are named after it, and a Service name must be a DNS-1035 label.
              rule: "oldSelf.hasValue() || self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
              optionalOldSelf: true,
              message: "metadata.name must start with a letter and hold only lowercase letters, digits and '-' (no '.'), so the names of the Services it creates stay valid",
            }],
          },
        },
      }],
    },
  };
}
