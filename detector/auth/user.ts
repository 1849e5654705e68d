// Users of the incident API; roles are ordered so a route names the least role it needs.

export const roles = ["viewer", "analyst", "admin"] as const;
export type Role = (typeof roles)[number];

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
}
