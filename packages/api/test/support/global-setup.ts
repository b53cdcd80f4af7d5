import { randomBytes } from "node:crypto";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { buildServices } from "../../../../scripts/build.ts";

/**
 * One fresh PostgreSQL database per test run, dropped at the end, on the server CI provides
 * (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); and the services'
 * bundles, which the tests that start services as processes run.
 */
export default async function setup(project: TestProject) {
  await buildServices();
  const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const name = `ticketgen_test_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  project.provide("databaseUrl", url.toString());
  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("redisUrl", process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  return async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
    redisUrl: string;
  }
}
