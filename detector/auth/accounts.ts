// Logins with lockout, user creation under the password policy, and the first admin from the Secret.
import type { Repository } from "../store/repository.ts";
import type { ApiTokens } from "./apiTokens.ts";
import { LoginGate } from "./loginGate.ts";
import { absentUserHash, hashPassword, verifyPassword } from "./passwordHashing.ts";
import { passwordProblems } from "./passwordPolicy.ts";
import type { Role, UserRecord } from "./user.ts";

export const lockout = { maxFailures: 5, lockMs: 15 * 60_000 };

export type LoginResult =
  | { ok: true; token: string; expiresAt: number; role: Role }
  | { ok: false; reason: "invalid-credentials" }
  | { ok: false; reason: "locked"; lockedUntil: number }
  /** Too many logins being checked at once (`LoginGate`): nothing was checked or counted against the account. */
  | { ok: false; reason: "busy" };

export type CreateUserResult = { ok: true; user: UserRecord } | { ok: false; reason: "exists" } | { ok: false; reason: "weak-password"; problems: string[] };

export class Accounts {
  private readonly repository: Repository;
  private readonly tokens: ApiTokens;
  private readonly now: () => number;
  private readonly gate: LoginGate;

  constructor(repository: Repository, tokens: ApiTokens, now: () => number = Date.now, gate = new LoginGate()) {
    this.repository = repository;
    this.tokens = tokens;
    this.now = now;
    this.gate = gate;
  }

  async login(tenant: string, username: string, password: string): Promise<LoginResult> {
    const result = await this.gate.run(() => this.checkLogin(tenant, username, password));
    return result.admitted ? result.value : { ok: false, reason: "busy" };
  }

  private async checkLogin(tenant: string, username: string, password: string): Promise<LoginResult> {
    const user = await this.repository.findUser(tenant, username);
    const now = this.now();
    if (user && user.lockedUntil > now) return { ok: false, reason: "locked", lockedUntil: user.lockedUntil };
    const matches = await verifyPassword(password, user?.passwordHash ?? absentUserHash);
    if (!user || !matches) {
      if (user) {
        const failure = await this.repository.recordFailedLogin(tenant, username, now, lockout.maxFailures, lockout.lockMs);
        if (failure.lockedUntil > now) return { ok: false, reason: "locked", lockedUntil: failure.lockedUntil };
      }
      return { ok: false, reason: "invalid-credentials" };
    }
    await this.repository.recordSuccessfulLogin(tenant, username);
    const { token, expiresAt } = await this.tokens.issue({ tenant, username, role: user.role });
    return { ok: true, token, expiresAt, role: user.role };
  }

  async createUser(tenant: string, username: string, password: string, role: Role): Promise<CreateUserResult> {
    const problems = passwordProblems(password, username);
    if (problems.length > 0) return { ok: false, reason: "weak-password", problems };
    const user: UserRecord = { tenant, username, passwordHash: await hashPassword(password), role, failedLogins: 0, lockedUntil: 0, createdAt: this.now() };
    return (await this.repository.createUser(user)) ? { ok: true, user } : { ok: false, reason: "exists" };
  }

  /** Creates user `admin` in tenant `default` from the Secret's hash, once; an existing admin is left as it is. */
  async ensureFirstAdmin(passwordHash: string): Promise<boolean> {
    return this.repository.createUser({ tenant: "default", username: "admin", passwordHash, role: "admin", failedLogins: 0, lockedUntil: 0, createdAt: this.now() });
  }
}
