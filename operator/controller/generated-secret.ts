// The random content of a Secret the operator generates. Not in render/: rendering is pure, and this is the one
// value of a child that is not a function of the MiniXdr (the reconciler adds it when it creates the Secret, once).
import { randomBytes } from "node:crypto";
import { secretKeys } from "../render/secrets.ts";

/**
 * Random values for a generated Secret. The admin password goes in as plaintext (the admin needs it to log in);
 * the detector hashes it at start-up, which keeps bcrypt's cost out of every reconcile that creates an instance.
 */
export function generatedSecretData(): Record<string, string> {
  return {
    [secretKeys.jwtSigningKey]: randomBytes(48).toString("base64url"),
    [secretKeys.ingestToken]: randomBytes(32).toString("base64url"),
    [secretKeys.adminPassword]: randomBytes(18).toString("base64url"),
  };
}
