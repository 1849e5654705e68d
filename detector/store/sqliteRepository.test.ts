// The repository contract on a real SQLite file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { repositoryContract } from "./repositoryContract.ts";
import { SqliteRepository } from "./sqliteRepository.ts";

const dir = mkdtempSync(join(tmpdir(), "minixdr-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

repositoryContract("SQLite", () => Promise.resolve(new SqliteRepository(join(dir, "nested", "minixdr.db"))));
