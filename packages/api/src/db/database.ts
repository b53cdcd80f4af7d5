import { mkdirSync } from "node:fs";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { DatabaseConfig } from "@ticketgen/shared";
import { MIGRATIONS_FOLDER } from "../paths.ts";
import { connectProblem } from "./connect-errors.ts";
import * as schema from "./schema.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: "postgres" | "pglite";
  /** Creates or upgrades the schema; safe when several replicas start at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

// Any constant works as long as every replica uses the same one: "tktgen" in ASCII.
const MIGRATION_LOCK_ID = 0x746b7467656en;

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, config);
  return openPglite(config.pgliteDir);
}

function openPostgres(url: string, config: DatabaseConfig): Database {
  // postgres.js is patched (patches/postgres@3.4.9.patch) so that a cut connection can neither
  // end the process nor leave a query waiting forever.
  const client = postgres(url, {
    max: config.dbPoolSize,
    connect_timeout: config.dbConnectTimeoutSeconds,
    // No wait before connecting again after a failed connect. While PostgreSQL is unreachable,
    // each connect attempt fails only the one query it was opened for and the rest wait in line
    // for the next; with the client's default wait (growing to 20 s) calls would pile up for tens
    // of seconds and answer long after their callers gave up, instead of failing at once with
    // UNAVAILABLE. Attempts are made only for queries waiting, so this is no busy loop.
    backoff: () => 0,
    idle_timeout: 60,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema });
  return {
    db,
    kind: "postgres",
    async migrate() {
      const lock = await client.reserve().catch((error: unknown) => {
        throw connectProblem(error, url, config) ?? error;
      });
      try {
        await lock`select pg_advisory_lock(${MIGRATION_LOCK_ID.toString()}::bigint)`;
        await migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await lock`select pg_advisory_unlock(${MIGRATION_LOCK_ID.toString()}::bigint)`.catch(() => {});
        lock.release();
      }
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dir: string): Promise<Database> {
  // Loaded on demand: production images talk to PostgreSQL and never need the WASM build.
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  mkdirSync(dir, { recursive: true });
  const client = new PGlite(dir);
  const db = drizzle(client, { schema });
  return {
    db,
    kind: "pglite",
    // One process owns an embedded database, so there is nobody to race with.
    migrate: () => migrate(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    close: () => client.close(),
  };
}

export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
