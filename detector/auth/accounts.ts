// Logins with lockout, user creation under the password policy, and the first admin from the Secret.
import type { FirstAdminOutcome, Repository } from "../store/repository.ts";
import type { ApiTokens } from "./apiTokens.ts";
import { LoginGate } from "./loginGate.ts";
import { absentUserHash, hashPassword, verifyPassword } from "./passwordHashing.ts";
import { passwordPolicy, passwordProblems } from "./passwordPolicy.ts";
import type { Role, UserRecord } from "./user.ts";

export const lockout = { maxFailures: 5, lockMs: 15 * 60_000 };

export type LoginResult =
  | { ok: true; token: string; expiresAt: number; role: Role }
  /** `account`: whether the name is an account (for the log only: the answer must not tell). */
  | { ok: false; reason: "invalid-credentials"; account: boolean }
  | { ok: false; reason: "locked"; lockedUntil: number; account: boolean }
  /** Too many logins being checked at once (`LoginGate`): nothing was checked or counted against the account. */
  | { ok: false; reason: "busy" };

type CheckedPassword = { ok: true; user: UserRecord } | Exclude<LoginResult, { ok: true } | { reason: "busy" }>;

export type PasswordChangeResult =
  | { ok: true; user: UserRecord }
  | { ok: false; reason: "no-such-user" }
  | { ok: false; reason: "weak-password"; problems: string[] }
  /** Changing one's own password: the current one was wrong (it counts as a failed login) or the account is locked. */
  | { ok: false; reason: "wrong-password" }
  /** Changing one's own password: it was changed by another request after the current one was checked. */
  | { ok: false; reason: "changed-meanwhile" }
  | { ok: false; reason: "locked"; lockedUntil: number }
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

  /**
   * How failed logins of a name that is no account are counted in the store (as an account's are, so a 423 does not
   * tell that an account exists) and named in the log: by a digest, never the name itself, which may be a password
   * typed in the wrong field. Keyed (`ApiTokens.keyedDigest`): a plain SHA-256 of a weak password is found by hashing
   * a list of common ones, by anyone who reads the log or the database.
   */
  nameDigest(username: string): string {
    return this.tokens.keyedDigest("unknown-login-name", username);
  }

  async login(tenant: string, username: string, password: string): Promise<LoginResult> {
    const checked = await this.gate.run(() => this.checkPassword(tenant, username, password));
    if (!checked.admitted) return { ok: false, reason: "busy" };
    const result = checked.value;
    if (!result.ok) return result;
    await this.repository.recordSuccessfulLogin(tenant, username);
    return { ok: true, ...(await this.issueFor(result.user)), role: result.user.role };
  }

  /**
   * A password checked as a login checks it: refused while the account is locked; a wrong one counts towards the
   * lockout; an unknown user costs as long as a wrong password and is answered the same, lockout included.
   */
  private async checkPassword(tenant: string, username: string, password: string): Promise<CheckedPassword> {
    const user = await this.repository.findUser(tenant, username);
    const now = this.now();
    const account = user !== undefined;
    const lockedUntil = user ? user.lockedUntil : await this.repository.unknownNameLockedUntil(tenant, this.nameDigest(username), now);
    if (lockedUntil > now) return { ok: false, reason: "locked", lockedUntil, account };
    // bcrypt reads only the first 72 bytes, and no password longer than that was ever set: a longer one, which would
    // match any password it starts with, is wrong (checked all the same, so it takes as long).
    const matches = (await verifyPassword(password, user?.passwordHash ?? absentUserHash)) && Buffer.byteLength(password, "utf8") <= passwordPolicy.maxLength;
    if (user && matches) return { ok: true, user };
    const lockedNow = user
      ? (await this.repository.recordFailedLogin(tenant, username, now, lockout.maxFailures, lockout.lockMs)).lockedUntil
      : (await this.repository.recordUnknownNameFailure(tenant, this.nameDigest(username), now, lockout.maxFailures, lockout.lockMs)).lockedUntil;
    if (lockedNow > now) return { ok: false, reason: "locked", lockedUntil: lockedNow, account };
    return { ok: false, reason: "invalid-credentials", account };
  }

  /** A token for the user as stored now (role and credentials version). */
  issueFor(user: UserRecord): Promise<{ token: string; expiresAt: number }> {
    return this.tokens.issue({ tenant: user.tenant, username: user.username, role: user.role, credentialsVersion: user.credentialsVersion, userCreatedAt: user.createdAt });
  }

  /**
   * A user changing their own password: the current one is checked like a login (same bound, and a wrong one counts
   * towards the lockout, so a stolen token cannot be used to guess it). Every earlier token of the user stops working.
   */
  async changeOwnPassword(tenant: string, username: string, current: string, next: string): Promise<PasswordChangeResult> {
    const problems = passwordProblems(next, username);
    if (problems.length > 0) return { ok: false, reason: "weak-password", problems };
    const checked = await this.gate.run(() => this.checkPassword(tenant, username, current));
    if (!checked.admitted) return { ok: false, reason: "busy" };
    const result = checked.value;
    if (!result.ok) return result.reason === "locked" ? result : { ok: false, reason: "wrong-password" };
    // Only over the password just checked: of two changes made with the same current password, one wins.
    const user = await this.repository.setPassword(tenant, username, await hashPassword(next), result.user.credentialsVersion);
    return user ? { ok: true, user } : { ok: false, reason: "changed-meanwhile" };
  }

  /** An admin setting another user's password (a reset): their tokens stop working and any lockout ends. */
  async setPassword(tenant: string, username: string, password: string): Promise<PasswordChangeResult> {
    const problems = passwordProblems(password, username);
    if (problems.length > 0) return { ok: false, reason: "weak-password", problems };
    const user = await this.repository.setPassword(tenant, username, await hashPassword(password));
    return user ? { ok: true, user } : { ok: false, reason: "no-such-user" };
  }

  async createUser(tenant: string, username: string, password: string, role: Role): Promise<CreateUserResult> {
    const problems = passwordProblems(password, username);
    if (problems.length > 0) return { ok: false, reason: "weak-password", problems };
    const user: UserRecord = { tenant, username, passwordHash: await hashPassword(password), role, failedLogins: 0, lockedUntil: 0, createdAt: this.now(), credentialsVersion: 0 };
    return (await this.repository.createUser(user)) ? { ok: true, user } : { ok: false, reason: "exists" };
  }

  /**
   * User `admin` in tenant `default` from the Secret (`FirstAdminOutcome`): created at the first start; while the
   * Secret's value stays the same, never touched again (a deleted admin stays deleted, a changed password stays); when
   * it changes (a rotation, or the way back in), created again or given the new password.
   */
  provisionFirstAdmin(passwordHash: string, source: string): Promise<FirstAdminOutcome> {
    return this.repository.provisionFirstAdmin({ tenant: "default", username: "admin", passwordHash, role: "admin", failedLogins: 0, lockedUntil: 0, createdAt: this.now() }, source);
  }
}
