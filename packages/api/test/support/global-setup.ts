import type { TestProject } from "vitest/node";
import { buildServices } from "../../../../scripts/build.ts";
import { createScratchDatabase } from "../../../../scripts/scratch-database.ts";

/**
 * One fresh PostgreSQL database per test run, dropped at the end, on the server CI provides
 * (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); and the bundles of
 * the services and the CLI, which the tests that start them as processes run.
 */
export default async function setup(project: TestProject) {
  await buildServices();
  const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const database = await createScratchDatabase(adminUrl, "ticketgen_test");
  project.provide("databaseUrl", database.url);
  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("redisUrl", process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  return () => database.drop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
    redisUrl: string;
  }
}
