import { randomBytes } from "node:crypto";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { inject } from "vitest";
import { createLogger, loadConfig, type Config, type Env } from "@ticketgen/shared";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { startApi, type ApiApp } from "../../src/app.ts";

export const TEST_SECRET = "test-secret-0123456789abcdef0123456789";

/** The environment a test API runs with: this run's database, a queue prefix of its own. */
export function testEnv(overrides: Env = {}): Env {
  return {
    DATABASE_URL: inject("databaseUrl"),
    REDIS_URL: inject("redisUrl"),
    QR_SIGNATURE_SECRET: TEST_SECRET,
    QUEUE_PREFIX: `tgtest-${randomBytes(4).toString("hex")}`,
    PORT: "0",
    LOG_LEVEL: "silent",
    HEALTH_INTERVAL_MS: "200",
    ...overrides,
  };
}

export interface TestApi {
  app: ApiApp;
  config: Config;
  baseUrl: string;
  tickets: Client<typeof TicketService>;
  stop(): Promise<void>;
}

export async function startTestApi(overrides: Env = {}): Promise<TestApi> {
  const config = loadConfig(testEnv(overrides));
  const app = await startApi(config, createLogger("api-test", config.logLevel), { host: "127.0.0.1" });
  const baseUrl = `http://127.0.0.1:${app.port}`;
  return {
    app,
    config,
    baseUrl,
    tickets: createClient(TicketService, grpcTransport(baseUrl)),
    stop: () => app.stop(),
  };
}

export function grpcTransport(baseUrl: string) {
  return createGrpcTransport({ baseUrl });
}
