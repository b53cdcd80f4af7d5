import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * An empty database of the test's own on the run's server. For tests whose sweeps or listings
 * take every row of a database: other files' tickets (on other queues) must not be found there.
 */
export async function scratchDatabase(label: string): Promise<ScratchDatabase> {
  const admin = postgres(inject("adminDatabaseUrl"), { max: 1, onnotice: () => {} });
  const name = `tgtest_${label}_${randomBytes(4).toString("hex")}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(inject("adminDatabaseUrl"));
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
