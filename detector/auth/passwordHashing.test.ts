// Password hashes: bcrypt as any bcrypt tool reads them, and computed off the event loop that serves ingest and the API.
import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import { absentUserHash, hashPassword, passwordThreadRunning, setPasswordThreadIdleMs, verifyPassword } from "./passwordHashing.ts";

describe("password hashing", () => {
  it("writes cost-12 bcrypt hashes that bcryptjs itself verifies, and verifies hashes bcryptjs wrote", async () => {
    const hash = await hashPassword("Correct-Horse-2024");
    expect(hash).toMatch(/^\$2b\$12\$/);
    expect(bcrypt.compareSync("Correct-Horse-2024", hash)).toBe(true);
    const theirs = bcrypt.hashSync("Battery-Staple-2024", 4);
    expect(await verifyPassword("Battery-Staple-2024", theirs)).toBe(true);
    expect(await verifyPassword("battery-staple-2024", theirs)).toBe(false);
    expect(await verifyPassword("anything", absentUserHash)).toBe(false);
  });

  it("answers no for a malformed hash, as bcryptjs does, and keeps answering after it", async () => {
    expect(await verifyPassword("x", "not-a-bcrypt-hash")).toBe(false);
    expect(await verifyPassword("x", bcrypt.hashSync("x", 4))).toBe(true);
  });

  it("leaves the event loop free while a password is checked", async () => {
    // bcryptjs on this thread runs in 100 ms slices: a cost-12 check (about 300 ms) let the loop turn about 3 times.
    let turns = 0;
    let checking = true;
    const spin = () => {
      turns++;
      if (checking) setImmediate(spin);
    };
    setImmediate(spin);
    await verifyPassword("wrong", absentUserHash);
    checking = false;
    expect(turns).toBeGreaterThan(50);
  });

  it("checks several passwords at once, each getting its own answer", async () => {
    const hashes = ["a-Pass-1", "b-Pass-2", "c-Pass-3"].map((p) => bcrypt.hashSync(p, 4));
    const answers = await Promise.all([
      verifyPassword("a-Pass-1", hashes[0]!), verifyPassword("b-Pass-2", hashes[0]!), verifyPassword("c-Pass-3", hashes[2]!), verifyPassword("b-Pass-2", hashes[1]!),
    ]);
    expect(answers).toEqual([true, false, true, true]);
  });

  it("stops the thread (and its memory) once idle, and starts it again for the next check", async () => {
    setPasswordThreadIdleMs(100);
    try {
      const theirs = bcrypt.hashSync("Idle-Pass-2024", 4);
      expect(await verifyPassword("Idle-Pass-2024", theirs)).toBe(true);
      expect(passwordThreadRunning()).toBe(true);
      await expect.poll(() => passwordThreadRunning(), { timeout: 5_000, interval: 50 }).toBe(false);
      expect(await verifyPassword("Idle-Pass-2024", theirs)).toBe(true);
      expect(passwordThreadRunning()).toBe(true);
    } finally {
      setPasswordThreadIdleMs(10_000);
    }
  });
});
