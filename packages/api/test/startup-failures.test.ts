import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Env } from "@ticketgen/shared";
import { startS3Server, type S3Server } from "../../shared/test/support/s3-server.ts";
import { spawnService, type Spawned } from "./support/processes.ts";
import { freePort, RedisServer } from "./support/redis-server.ts";
import { testEnv, waitFor } from "./support/stack.ts";

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Service = "api" | "render-worker";

function spawn(service: Service, overrides: Env): Spawned {
  // info: every log line the failure may come with is seen, and none may carry a stack.
  const process = spawnService(service, testEnv({ LOG_LEVEL: "info", DB_CONNECT_TIMEOUT: "2", ...overrides }));
  cleanup.push(() => process.kill());
  return process;
}

/** Runs a service that must not start; its exit code and everything it printed. */
async function failedStart(service: Service, overrides: Env): Promise<{ code: number | null; output: string }> {
  const process = spawn(service, overrides);
  const code = await process.exited();
  return { code, output: process.output() };
}

/**
 * The operator's view: one plain line `ticketgen <service>: SETTING: …` that says everything,
 * no stack anywhere, and nothing else but JSON log lines below error level.
 */
function expectOneLine(service: Service, output: string, ...contains: string[]): string {
  const lines = output.trimEnd().split("\n");
  const plain = lines.filter((line) => !line.startsWith("{"));
  expect(plain, output).toHaveLength(1);
  const [line] = plain as [string];
  expect(line.startsWith(`ticketgen ${service}: `), line).toBe(true);
  for (const text of contains) expect(line).toContain(text);
  for (const log of lines.filter((l) => l.startsWith("{"))) expect(JSON.parse(log).level, log).toBeLessThan(50);
  expect(output).not.toContain("    at ");
  return line;
}

/** A real listener holding a port, as another process would. */
async function occupiedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as net.AddressInfo).port;
}

/** DB_HOST and DB_PORT of this run's PostgreSQL, instead of DATABASE_URL. */
function dbHostEnv(): Env {
  const url = new URL(inject("databaseUrl"));
  return {
    DATABASE_URL: undefined,
    DB_HOST: url.hostname,
    DB_PORT: url.port || "5432",
    DB_USER: decodeURIComponent(url.username) || "postgres",
  };
}

describe("API start-up failures", () => {
  it("PostgreSQL not listening: 69, naming DB_HOST/DB_PORT and the address", async () => {
    const port = await freePort();
    const { code, output } = await failedStart("api", { ...dbHostEnv(), DB_HOST: "127.0.0.1", DB_PORT: String(port) });
    expect(code).toBe(69);
    expectOneLine("api", output, "DB_HOST/DB_PORT: ", `PostgreSQL at 127.0.0.1:${port} is unreachable`, "ECONNREFUSED", "start PostgreSQL");
  });

  it("a database that does not exist: 78, saying to createdb it or set DB_NAME", async () => {
    const name = `ticketgen_missing_${randomBytes(4).toString("hex")}`;
    const { code, output } = await failedStart("api", { ...dbHostEnv(), DB_NAME: name });
    expect(code).toBe(78);
    expectOneLine("api", output, `DB_NAME: database "${name}" does not exist`, `createdb ${name}`, "set DB_NAME");
  });

  it("the same through DATABASE_URL names DATABASE_URL", async () => {
    const url = new URL(inject("databaseUrl"));
    url.pathname = `/ticketgen_missing_${randomBytes(4).toString("hex")}`;
    const { code, output } = await failedStart("api", { DATABASE_URL: url.toString() });
    expect(code).toBe(78);
    expectOneLine("api", output, "DATABASE_URL: database ", "correct the database name in DATABASE_URL");
  });

  it("PORT taken by another listener: 78, naming PORT and the address", async () => {
    const port = await occupiedPort();
    const { code, output } = await failedStart("api", { PORT: String(port) });
    expect(code).toBe(78);
    expectOneLine("api", output, `PORT: 0.0.0.0:${port} is already in use`, "set PORT to a free port");
  });

  it("METRICS_PORT taken by another listener: 78, naming METRICS_PORT and the address", async () => {
    const port = await occupiedPort();
    const { code, output } = await failedStart("api", { METRICS_PORT: String(port) });
    expect(code).toBe(78);
    expectOneLine("api", output, `METRICS_PORT: 0.0.0.0:${port} is already in use`, "set METRICS_PORT to a free port");
  });

  it("an invalid value goes the same way: 78, one line, no stack", async () => {
    const { code, output } = await failedStart("api", { HEALTH_INTERVAL_MS: "often" });
    expect(code).toBe(78);
    expectOneLine("api", output, 'HEALTH_INTERVAL_MS: must be an integer from 100 to 60000 (got "often")');
  });

  it("LOG_LEVEL=debug adds the stack, and the cause's, after the line", async () => {
    const port = await occupiedPort();
    const { code, output } = await failedStart("api", { PORT: String(port), LOG_LEVEL: "debug" });
    expect(code).toBe(78);
    expect(output).toContain(`ticketgen api: PORT: 0.0.0.0:${port} is already in use`);
    expect(output).toMatch(/\n {4}at /);
    expect(output).toContain("EADDRINUSE");
  });

  it("Redis unreachable: starts all the same (TicketService needs no Redis), with one warning naming REDIS_URL", async () => {
    const port = await freePort();
    const api = spawn("api", { REDIS_URL: `redis://127.0.0.1:${port}`, LOG_LEVEL: "warn" });
    const warning = await waitFor(
      async () =>
        api
          .output()
          .split("\n")
          .find((line) => line.includes('"redis_unavailable"')),
      20_000,
      `the Redis warning: ${api.output()}`,
    );
    expect(JSON.parse(warning)).toMatchObject({
      level: 40,
      msg: `Redis at 127.0.0.1:${port} (REDIS_URL) does not answer (connect ECONNREFUSED 127.0.0.1:${port}); starting without it: BatchService and TemplateService are NOT_SERVING until it answers`,
    });
    expect(warning).not.toContain("    at ");
    expect(api.child.exitCode).toBeNull();
  });
});

describe("render worker start-up failures", () => {
  it("CHROMIUM_EXECUTABLE_PATH that does not exist: 78, naming it and the path, without the retry warning", async () => {
    const path = `/nonexistent/${randomBytes(4).toString("hex")}/chromium`;
    const { code, output } = await failedStart("render-worker", { CHROMIUM_EXECUTABLE_PATH: path });
    expect(code).toBe(78);
    expectOneLine(
      "render-worker",
      output,
      `CHROMIUM_EXECUTABLE_PATH: ${path} does not exist`,
      "set CHROMIUM_EXECUTABLE_PATH to its binary",
    );
    expect(output).not.toContain("retrying");
  });

  it("METRICS_PORT (its health port) taken by another listener: 78, naming METRICS_PORT and the address", async () => {
    const port = await occupiedPort();
    const { code, output } = await failedStart("render-worker", { METRICS_PORT: String(port) });
    expect(code).toBe(78);
    expectOneLine("render-worker", output, `METRICS_PORT: 0.0.0.0:${port} is already in use`);
  });

  it("Redis unreachable: one warning, then after REDIS_STARTUP_TIMEOUT_MS 69 naming REDIS_URL", async () => {
    const port = await freePort();
    const { code, output } = await failedStart("render-worker", {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_STARTUP_TIMEOUT_MS: "500",
    });
    expect(code).toBe(69);
    expectOneLine(
      "render-worker",
      output,
      `REDIS_URL: Redis at 127.0.0.1:${port} did not answer within 500 ms`,
      "ECONNREFUSED",
      "start Redis or correct REDIS_URL",
    );
    const warnings = output.split("\n").filter((line) => line.includes('"waiting_for_redis"'));
    expect(warnings).toHaveLength(1);
  });

  it("Redis refusing the password: 78 at once, naming REDIS_PASSWORD", async () => {
    const redis = new RedisServer(await freePort(), { password: "the-right-password" });
    await redis.start();
    cleanup.push(() => redis.stop());
    const { code, output } = await failedStart("render-worker", {
      REDIS_URL: redis.url,
      REDIS_PASSWORD: "a-wrong-password",
      REDIS_STARTUP_TIMEOUT_MS: "60000",
    });
    expect(code).toBe(78);
    const line = expectOneLine("render-worker", output, `REDIS_PASSWORD: Redis at 127.0.0.1:${redis.port} refuses the password: WRONGPASS`);
    expect(line).not.toContain("a-wrong-password");
  });

  it("BLOB_DIR that cannot be written (a file where the directory should be): 78, naming BLOB_DIR and the path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ticketgen-blob-dir-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "blobs");
    writeFileSync(file, "not a directory");
    const { code, output } = await failedStart("render-worker", { BLOB_DIR: file });
    expect(code).toBe(78);
    expectOneLine("render-worker", output, `BLOB_DIR: ${file} cannot be written (ENOTDIR`, "set BLOB_DIR to one");
  });

  describe("an S3 blob store that refuses writes", () => {
    let s3: S3Server;
    beforeAll(async () => {
      s3 = await startS3Server("tickets");
    });
    afterAll(() => s3?.close());
    const s3Env = (overrides: Env): Env => ({
      BLOB_STORE: "s3",
      S3_BUCKET: "tickets",
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: "a-secret-key-never-printed",
      // On Node 20 the AWS SDK prints a multi-line warning about its future Node versions.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...overrides,
    });

    it.each([
      {
        problem: "a bucket that does not exist",
        env: { S3_BUCKET: "no-such-bucket" },
        code: 78,
        says: "S3_BUCKET: bucket no-such-bucket at",
      },
      { problem: "an unknown access key", env: { S3_ACCESS_KEY_ID: "UNKNOWN" }, code: 78, says: "S3_ACCESS_KEY_ID: bucket tickets at" },
      {
        problem: "nothing listening at the endpoint",
        env: { S3_ENDPOINT: "http://127.0.0.1:1" },
        code: 69,
        says: "S3_ENDPOINT: bucket tickets at",
      },
    ])("$problem: $code, naming the setting", async ({ env, code: expected, says }) => {
      const { code, output } = await failedStart("render-worker", s3Env(env));
      expect(code).toBe(expected);
      const line = expectOneLine("render-worker", output, says);
      expect(line).not.toContain("a-secret-key-never-printed");
    });
  });

  it("LOG_LEVEL=debug adds the stack", async () => {
    const { code, output } = await failedStart("render-worker", { CHROMIUM_EXECUTABLE_PATH: "/nonexistent/chromium", LOG_LEVEL: "debug" });
    expect(code).toBe(78);
    expect(output).toContain("ticketgen render-worker: CHROMIUM_EXECUTABLE_PATH: /nonexistent/chromium does not exist");
    expect(output).toMatch(/\n {4}at /);
  });
});
