// The oldest Kubernetes the docs name must be one whose API server accepts the CRD: an API server older than a CEL
// function in a validation rule refuses the whole CRD at install ("undeclared reference to 'isCIDR'"). A function
// this table does not know fails the test, so a new one is looked up before it ships.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = join(import.meta.dirname, "../..");

/**
 * The first Kubernetes minor whose API server accepts each function in a new CRD rule. From k8s.io/apiserver
 * pkg/cel/environment/base.go: a library "introduced" at 1.N is accepted in new expressions from 1.N+1 (the API
 * server checks new rules against its previous minor, for rollback), as the CEL page of the Kubernetes docs lists them.
 */
const firstMinor: Record<string, number> = {
  // CEL's standard functions and macros; validation rules are on by default since 1.25.
  has: 25, all: 25, exists: 25, exists_one: 25, map: 25, filter: 25, size: 25, matches: 25, startsWith: 25, endsWith: 25,
  contains: 25, string: 25, int: 25, uint: 25, double: 25, bool: 25, bytes: 25, duration: 25, timestamp: 25, type: 25,
  // The extended strings library at its first version.
  charAt: 25, indexOf: 25, lastIndexOf: 25, lowerAscii: 25, upperAscii: 25, replace: 25, split: 25, substring: 25, trim: 25, join: 25,
  // The Kubernetes list and regex libraries.
  isSorted: 25, sum: 25, min: 25, max: 25, find: 25, findAll: 25,
  // CEL optional types (introduced 1.28): `oldSelf.hasValue()` in the rules with optionalOldSelf.
  hasValue: 29, value: 29, orValue: 29,
  // The Kubernetes quantity library (introduced 1.28).
  quantity: 29, isQuantity: 29, isInteger: 29, asInteger: 29, asApproximateFloat: 29, sign: 29, add: 29, sub: 29,
  isGreaterThan: 29, isLessThan: 29, compareTo: 29,
  // The Kubernetes IP address and CIDR libraries (introduced 1.30).
  ip: 31, isIP: 31, cidr: 31, isCIDR: 31, containsIP: 31, containsCIDR: 31, prefixLength: 31, masked: 31, family: 31,
  isUnspecified: 31, isLoopback: 31, isLinkLocalMulticast: 31, isLinkLocalUnicast: 31, isGlobalUnicast: 31, isCanonical: 31,
  // The Kubernetes format library (introduced 1.31).
  format: 32,
};

/** Fields of a validation rule beside `rule` and `message`, and the first minor that keeps them. */
const ruleFieldMinor: Record<string, number> = { rule: 25, message: 25, messageExpression: 27, fieldPath: 28, reason: 28, optionalOldSelf: 30 };

function validations(node: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(node)) for (const n of node) validations(n, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "x-kubernetes-validations") out.push(...(v as Record<string, unknown>[]));
      else validations(v, out);
    }
  }
  return out;
}

describe("the Kubernetes version the docs name", () => {
  const crd: unknown = parse(readFileSync(join(root, "crds/xdr.minixdr.io_minixdrs.yaml"), "utf8"));
  const rules = validations(crd);

  const needed = (() => {
    let minor = 25;
    const unknown = new Set<string>();
    for (const r of rules) {
      for (const field of Object.keys(r)) {
        if (!(field in ruleFieldMinor)) unknown.add(`field ${field}`);
        minor = Math.max(minor, ruleFieldMinor[field] ?? 0);
      }
      // Function and method names: an identifier followed by "(", outside string literals.
      const code = String(r.rule).replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");
      for (const [, fn] of code.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
        if (!(fn! in firstMinor)) unknown.add(fn!);
        minor = Math.max(minor, firstMinor[fn!] ?? 0);
      }
    }
    return { minor, unknown: [...unknown] };
  })();

  it("knows every CEL function and rule field the CRD uses", () => {
    expect(rules.length).toBeGreaterThan(0);
    expect(needed.unknown).toEqual([]);
  });

  it.each(["docs/install.md", "README.md"])("%s names the oldest Kubernetes that accepts the CRD", (file) => {
    const text = readFileSync(join(root, file), "utf8");
    const claimed = [...text.matchAll(/Kubernetes 1\.(\d+) or newer/g)].map((m) => Number(m[1]));
    expect(claimed.length, `${file} says "Kubernetes 1.N or newer"`).toBeGreaterThan(0);
    for (const minor of claimed) expect(minor, `${file}: the CRD needs 1.${needed.minor}`).toBe(needed.minor);
  });
});
