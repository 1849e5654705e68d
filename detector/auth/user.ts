// Users of the incident API; roles are ordered so a route names the least role it needs.

export const roles = ["viewer", "analyst", "admin"] as const;
export type Role = (typeof roles)[number];

/** A username is also a URL path segment (`/api/v1/users/:username`): `.` and `..` would be read as path steps. */
export const usernamePattern = /^(?!\.\.?$)[a-zA-Z0-9._@-]{1,64}$/;

export function roleAtLeast(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed);
}

export interface UserRecord {
  tenant: string;
  username: string;
  passwordHash: string;
  role: Role;
  failedLogins: number;
  /** ms since the epoch until which logins are refused; 0 when not locked. */
  lockedUntil: number;
  createdAt: number;
  /**
   * Goes up with every password change: a token carries the version it was issued under, and one from an older
   * version is refused, so changing a password signs out every session of the user.
   */
  credentialsVersion: number;
}

/** A user as created: at credentials version 0. */
export type NewUser = Omit<UserRecord, "credentialsVersion">;
