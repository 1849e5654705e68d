// bcrypt password hashes at cost 12.
import bcrypt from "bcryptjs";

export const bcryptCost = 12;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, bcryptCost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/** Compared against when the user does not exist, so an unknown name takes as long as a wrong password. */
export const absentUserHash = "$2b$12$jMTc6tYzueTDshHNOY028ejFKw.QIp4ARBnYt8KZZ4CPI7t98x0dC";
