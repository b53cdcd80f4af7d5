import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { inject } from "vitest";
import { createLogger, loadConfig, loadWorkerConfig, mintAccessToken, SCOPES, type Config, type Env, type Scope } from "@ticketgen/shared";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { startRenderWorker, type RenderWorker } from "@ticketgen/render-worker";
import { startApi, type ApiApp } from "../../src/app.ts";

export const TEST_SECRET = "test-secret-0123456789abcdef0123456789";
/** The API's HS256 token secret in tests that turn authentication on (AUTH_JWT_SECRET). */
export const TEST_AUTH_SECRET = "test-auth-secret-0123456789abcdef012345";

/** A token of `tenantId` signed with TEST_AUTH_SECRET, with every scope unless told. */
export function testToken(tenantId: string, scopes: readonly Scope[] = SCOPES, ttlSeconds = 3600): Promise<string> {
  return mintAccessToken(Buffer.from(TEST_AUTH_SECRET), { tenantId, scopes, ttlSeconds });
}

export interface Clients {
  tickets: Client<typeof TicketService>;
  batches: Client<typeof BatchService>;
  templates: Client<typeof TemplateService>;
}

/** Clients of every ticketgen service over one gRPC connection, sending `token` when given. */
export function clientsFor(baseUrl: string, token?: string): Clients {
  const authorize: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl, interceptors: token === undefined ? [] : [authorize] });
  return {
    tickets: createClient(TicketService, transport),
    batches: createClient(BatchService, transport),
    templates: createClient(TemplateService, transport),
  };
}

/**
 * The environment a test stack runs with: this run's database, a queue prefix and blob dir of its
 * own. The pending sweeper is off: in a deployment the database and the queues go together, but
 * here every file's stack shares the database, and a sweeper would take another file's batch
 * (still waiting for its own worker) as lost because its jobs are not on this stack's queues. It
 * would render those chunks on its own queues into its own blob dir, and the owner's batch PDF
 * would lack them. Tests of the sweeper give it a scratch database and set SWEEP_INTERVAL_MS.
 */
export function testEnv(overrides: Env = {}): Env {
  return {
    DATABASE_URL: inject("databaseUrl"),
    REDIS_URL: inject("redisUrl"),
    QR_SIGNATURE_SECRET: TEST_SECRET,
    QUEUE_PREFIX: `tgtest-${randomBytes(4).toString("hex")}`,
    BLOB_DIR: mkdtempSync(join(tmpdir(), "ticketgen-blobs-")),
    PORT: "0",
    WEB_PORT: "0",
    METRICS_PORT: "0",
    LOG_LEVEL: "silent",
    HEALTH_INTERVAL_MS: "200",
    SWEEP_INTERVAL_MS: "3600000",
    ...overrides,
  };
}

export interface TestApi {
  app: ApiApp;
  config: Config;
  env: Env;
  /** gRPC (grpc-js) on PORT. */
  baseUrl: string;
  /** Connect and gRPC-Web (connect-node) on WEB_PORT. */
  webBaseUrl: string;
  tickets: Client<typeof TicketService>;
  templates: Client<typeof TemplateService>;
  stop(): Promise<void>;
}

export async function startTestApi(overrides: Env = {}): Promise<TestApi> {
  const env = testEnv(overrides);
  const config = loadConfig(env);
  const app = await startApi(config, createLogger("api-test", config.logLevel), { host: "127.0.0.1" });
  const baseUrl = `http://127.0.0.1:${app.port}`;
  const transport = grpcTransport(baseUrl);
  return {
    app,
    config,
    env,
    baseUrl,
    webBaseUrl: `http://127.0.0.1:${app.webPort}`,
    tickets: createClient(TicketService, transport),
    templates: createClient(TemplateService, transport),
    stop: () => app.stop(),
  };
}

/** A render worker in this process, on the API's queues and blob store (an API of this process, or one spawned with `env`). */
export function startTestWorker(api: Pick<TestApi, "env">, overrides: Env = {}): Promise<RenderWorker> {
  const config = loadWorkerConfig({ ...api.env, ...overrides });
  return startRenderWorker(config, createLogger("worker-test", config.logLevel));
}

export function grpcTransport(baseUrl: string) {
  return createGrpcTransport({ baseUrl });
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
