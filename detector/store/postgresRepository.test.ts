// The repository contract on a real PostgreSQL server.
import { usePostgres } from "../../test/support/postgres.ts";
import { PostgresRepository } from "./postgresRepository.ts";
import { repositoryContract } from "./repositoryContract.ts";

const postgres = await usePostgres("contract");

repositoryContract("PostgreSQL", () => Promise.resolve(new PostgresRepository(postgres.url)), postgres.unavailable || undefined);
