// The repository contract on a real SQLite file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { repositoryContract } from "./repositoryContract.ts";
import { SqliteRepository } from "./sqliteRepository.ts";

const dir = mkdtempSync(join(tmpdir(), "minixdr-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

repositoryContract("SQLite", () => Promise.resolve(new SqliteRepository(join(dir, "nested", "minixdr.db"))));

describe("SQLite on a shared volume", () => {
  it("refuses a second detector process on the same file, naming the fix", async () => {
    const file = join(dir, "shared.db");
    const first = new SqliteRepository(file);
    await first.migrate();
    const second = spawnSync(process.execPath, ["--input-type=module", "-e", `
      import { SqliteRepository } from ${JSON.stringify(new URL("./sqliteRepository.ts", import.meta.url).href)};
      try { await new SqliteRepository(${JSON.stringify(file)}).migrate(); console.log("migrated"); } catch (err) { console.log(err.message); }
    `], { encoding: "utf8", timeout: 30_000 });
    expect(second.stdout).toMatch(/in use by another detector process: SQLite serves one replica; use storage.driver postgres/);
    await first.close();
  });
});
