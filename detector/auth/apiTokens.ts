// API tokens: HS256 JWTs signed with the Secret's key; issuer, audience, expiry and the algorithm are all checked.
import { createHmac } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { roles, type Role } from "./user.ts";

export const tokenIssuer = "minixdr-detector";
export const tokenAudience = "minixdr-api";
export const tokenLifetimeSeconds = 8 * 3600;

export interface Principal {
  tenant: string;
  username: string;
  role: Role;
}

/** A verified token: who, and the credentials version of the user it was issued under (0 for tokens without one). */
export interface VerifiedToken extends Principal {
  credentialsVersion: number;
  /**
   * When the user it was issued to was created (ms): a user deleted and created again under the same name starts at
   * credentials version 0 again, and must not inherit the tokens of the one before. Absent in tokens issued before.
   */
  userCreatedAt?: number;
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

export class ApiTokens {
  private key: Uint8Array;
  private readonly now: () => number;

  constructor(signingKey: string, now: () => number = Date.now) {
    this.key = new TextEncoder().encode(signingKey);
    this.now = now;
  }

  /** Signs and verifies with a rotated key from now on: tokens signed with the earlier key are refused. */
  useKey(signingKey: string): void {
    this.key = new TextEncoder().encode(signingKey);
  }

  /**
   * HMAC-SHA256 of `value` under a key derived from the signing key for `purpose` (never the signing key itself), so a
   * digest cannot be recomputed without the Secret. It changes when the signing key is rotated.
   */
  keyedDigest(purpose: string, value: string): string {
    const key = createHmac("sha256", this.key).update(`minixdr ${purpose}`).digest();
    return createHmac("sha256", key).update(value, "utf8").digest("base64url");
  }

  async issue(p: VerifiedToken): Promise<{ token: string; expiresAt: number }> {
    const iat = Math.floor(this.now() / 1000);
    const token = await new SignJWT({ tenant: p.tenant, role: p.role, ver: p.credentialsVersion, ...(p.userCreatedAt !== undefined ? { uc: p.userCreatedAt } : {}) })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(p.username)
      .setIssuer(tokenIssuer)
      .setAudience(tokenAudience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + tokenLifetimeSeconds)
      .sign(this.key);
    return { token, expiresAt: (iat + tokenLifetimeSeconds) * 1000 };
  }

  async verify(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ["HS256"],
        issuer: tokenIssuer,
        audience: tokenAudience,
        requiredClaims: ["sub", "exp", "iat"],
        currentDate: new Date(this.now()),
      });
      const { tenant, role, sub, ver = 0, uc } = payload;
      if (typeof tenant !== "string" || typeof sub !== "string" || !roles.includes(role as Role) || !Number.isInteger(ver) || (uc !== undefined && !Number.isInteger(uc))) {
        throw new InvalidTokenError("token claims: tenant, sub, role, ver or uc missing or invalid");
      }
      return { tenant, username: sub, role: role as Role, credentialsVersion: ver as number, ...(uc !== undefined ? { userCreatedAt: uc as number } : {}) };
    } catch (err) {
      if (err instanceof InvalidTokenError) throw err;
      if (err instanceof errors.JWTExpired) throw new InvalidTokenError("token expired", { cause: err });
      if (err instanceof errors.JOSEError) throw new InvalidTokenError(`token refused: ${err.code}`, { cause: err });
      throw new InvalidTokenError("token refused", { cause: err });
    }
  }
}
