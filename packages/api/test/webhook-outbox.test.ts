import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { Queue } from "bullmq";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { createClient } from "@connectrpc/connect";
import { WEBHOOK_QUEUE } from "../src/webhooks/webhook-notifier.ts";
import { scratchDatabase } from "./support/database.ts";
import { sample, scrape } from "./support/metrics.ts";
import { spawnService, type Spawned } from "./support/processes.ts";
import { freePort, RedisServer } from "./support/redis-server.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, testEnv, waitFor, type TestApi } from "./support/stack.ts";
import { generatedResult } from "./support/results.ts";

const SECRET = "webhook-secret-0123456789abcdef-0123";
const DAY_MS = 86_400_000;

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Delivery {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  id: string;
  data: Record<string, unknown>;
}

/** The core service on a fixed port: it can go down (connections refused) and come back. */
class Receiver {
  readonly deliveries: Delivery[] = [];
  /** What it answers while up. */
  status = 204;
  private server: Server | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/ticketgen`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const parsed = JSON.parse(body);
        this.deliveries.push({ status: this.status, headers: req.headers, body, id: parsed.id, data: parsed.data });
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  of(ticketId: string): Delivery[] {
    return this.deliveries.filter((d) => d.data.ticketId === ticketId);
  }

  async acknowledged(ticketId: string): Promise<Delivery> {
    return waitFor(async () => this.of(ticketId).find((d) => d.status < 300), 30_000, `a 2xx delivery of ticket ${ticketId}`);
  }
}

async function receiver(): Promise<Receiver> {
  const r = new Receiver(await freePort());
  cleanup.push(() => r.down());
  return r;
}

/** A redis-server of the test's own: stop() and start() is Redis restarting empty, as without persistence. */
async function privateRedis(): Promise<RedisServer> {
  const redis = new RedisServer(await freePort());
  await redis.start();
  cleanup.push(() => redis.stop());
  return redis;
}

/** A database of the test's own: the relay takes every undelivered event of its database. */
async function database(): Promise<{ url: string; sql: postgres.Sql }> {
  const db = await scratchDatabase("outbox");
  cleanup.push(() => db.drop());
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  cleanup.push(() => sql.end());
  return { url: db.url, sql };
}

/** The environment of an API whose relay looks at an undelivered event 500 ms after it was recorded or last seen queued. */
function webhookEnv(databaseUrl: string, redisUrl: string, hook: Receiver): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    CORE_SERVICE_WEBHOOK_URL: hook.url,
    WEBHOOK_SECRET: SECRET,
    SWEEP_INTERVAL_MS: "200",
    SWEEP_MIN_AGE_MS: "500",
  };
}

async function api(env: Record<string, string>): Promise<TestApi> {
  const started = await startTestApi(env);
  cleanup.push(() => started.stop());
  return started;
}

async function outboxRow(sql: postgres.Sql, id: string) {
  const [row] = await sql<Array<{ tenant_id: string; delivered_at: Date | null; gave_up_at: Date | null }>>`
    select tenant_id, delivered_at, gave_up_at from webhook_outbox where id = ${id}`;
  return row;
}

function expectSigned(delivery: Delivery): void {
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(delivery.headers["x-ticketgen-signature"])) ?? [];
  expect(v1).toBe(createHmac("sha256", SECRET).update(`${t}.${delivery.body}`).digest("hex"));
}

describe("webhook events survive Redis and the API (the outbox)", () => {
  it("a delivery queued in Redis when it restarts empty, with the receiver down, is sent again under the same delivery id once the receiver is up", async () => {
    const { url, sql } = await database();
    const redis = await privateRedis();
    const hook = await receiver();
    // The first attempt fails (receiver down) and the retry would come a minute later: the job waits in Redis.
    const app = await api({ ...webhookEnv(url, redis.url, hook), WEBHOOK_RETRY_DELAY: "60000" });
    const { ticket } = await app.tickets.createTicket(ticketRequest());
    const deliveryId = `ticket.generated.${ticket!.id}`;
    await app.app.results.apply(generatedResult(ticket!.id));
    await waitFor(
      async () => {
        const failed = sample(await scrape(app.app.metricsPort), "webhook_deliveries_total", {
          event: "ticket.generated",
          outcome: "network_error",
        });
        return failed === 1 ? true : undefined;
      },
      20_000,
      "the first attempt refused",
    );

    await redis.stop();
    await redis.start();
    await hook.up();

    const delivered = await hook.acknowledged(ticket!.id);
    expect(delivered.id).toBe(deliveryId);
    expect(delivered.headers["x-ticketgen-delivery"]).toBe(deliveryId);
    expect(delivered.data).toMatchObject({ ticketId: ticket!.id, tenantId: "default", status: "GENERATED" });
    expectSigned(delivered);
    await waitFor(async () => ((await outboxRow(sql, deliveryId))?.delivered_at ? true : undefined), 10_000, "marked delivered");
    expect((await outboxRow(sql, deliveryId))?.tenant_id).toBe("default");
    expect(hook.of(ticket!.id).map((d) => d.id)).toEqual([deliveryId]);
  }, 60_000);

  it("an outcome applied while Redis refuses the enqueue is recorded, and delivered once Redis answers", async () => {
    const { url, sql } = await database();
    const redis = await privateRedis();
    const hook = await receiver();
    await hook.up();
    const app = await api({ ...webhookEnv(url, redis.url, hook), REDIS_COMMAND_TIMEOUT_MS: "300" });
    const { ticket } = await app.tickets.createTicket(ticketRequest());
    const deliveryId = `ticket.generated.${ticket!.id}`;

    await redis.stop();
    // The outcome is stored and the result job done: the webhook waits in the outbox, not in the result's retries.
    await app.app.results.apply(generatedResult(ticket!.id));
    expect(await outboxRow(sql, deliveryId)).toMatchObject({ tenant_id: "default", delivered_at: null });
    expect(hook.of(ticket!.id)).toEqual([]);

    await redis.start();
    const delivered = await hook.acknowledged(ticket!.id);
    expect(delivered.id).toBe(deliveryId);
    expectSigned(delivered);
    await waitFor(async () => ((await outboxRow(sql, deliveryId))?.delivered_at ? true : undefined), 10_000, "marked delivered");
  }, 60_000);

  it("an API SIGKILLed between the commit of an outcome and its webhook's enqueue, with Redis then restarting empty, still delivers it", async () => {
    const { url, sql } = await database();
    const redis = await privateRedis();
    const hook = await receiver();
    await hook.up();
    const env = testEnv({ ...webhookEnv(url, redis.url, hook), LOG_LEVEL: "info" });
    const spawnApi = async (): Promise<{ process: Spawned; port: number }> => {
      const spawned = spawnService("api", env);
      cleanup.push(async () => spawned.kill("SIGKILL"));
      const [, port] = await spawned.outputMatching(/"action":"api_started".*?"port":(\d+)/);
      return { process: spawned, port: Number(port) };
    };
    const first = await spawnApi();
    const worker = await startTestWorker({ env }, { LOG_LEVEL: "silent" });
    cleanup.push(() => worker.stop());

    // The outcome's transaction waits on this lock before it commits, with the result job taken.
    const lock = await sql.reserve();
    cleanup.push(async () => lock.release());
    await lock`begin`;
    await lock`lock table webhook_outbox in exclusive mode`;
    const tickets = createClient(TicketService, grpcTransport(`http://127.0.0.1:${first.port}`));
    const { ticket } = await tickets.createTicket(ticketRequest());
    const deliveryId = `ticket.generated.${ticket!.id}`;
    await waitFor(
      async () => {
        const [waiting] =
          await sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'insert into "webhook_outbox"%'`;
        return waiting;
      },
      30_000,
      "the outcome's transaction waiting on the outbox",
    );
    // Redis goes down: the enqueue right after the commit is refused, and the API dies before its relay retries.
    await redis.stop();
    await lock`rollback`;
    await waitFor(async () => outboxRow(sql, deliveryId), 10_000, "the event committed");
    first.process.kill("SIGKILL");
    await first.process.exited();
    const [stored] = await sql<Array<{ status: string }>>`select status from tickets where id = ${ticket!.id}`;
    expect(stored?.status).toBe("GENERATED");
    expect(hook.of(ticket!.id)).toEqual([]);

    // Back empty: the result job that would have announced it again is gone too; only the outbox knows.
    await redis.start();
    await spawnApi();
    const delivered = await hook.acknowledged(ticket!.id);
    expect(delivered.id).toBe(deliveryId);
    expectSigned(delivered);
    await waitFor(async () => ((await outboxRow(sql, deliveryId))?.delivered_at ? true : undefined), 10_000, "marked delivered");
    expect(new Set(hook.of(ticket!.id).map((d) => d.id))).toEqual(new Set([deliveryId]));
  }, 90_000);

  it("a given-up event is left alone; settled events are deleted after WEBHOOK_RETENTION_DAYS, undelivered ones never", async () => {
    const { url, sql } = await database();
    const redis = await privateRedis();
    const hook = await receiver();
    await hook.up();
    // SWEEP_INTERVAL_MS long: the test runs the relay itself.
    const app = await api({
      ...webhookEnv(url, redis.url, hook),
      SWEEP_INTERVAL_MS: "3600000",
      WEBHOOK_MAX_ATTEMPTS: "1",
      WEBHOOK_RETENTION_DAYS: "3",
    });
    const relay = app.app.webhookRelay!;
    const deliveries = new Queue(WEBHOOK_QUEUE, { connection: { url: redis.url }, prefix: app.config.queuePrefix });
    cleanup.push(() => deliveries.close());
    const issue = async () => (await app.tickets.createTicket(ticketRequest())).ticket!.id;

    const delivered = await issue();
    await app.app.results.apply(generatedResult(delivered));
    await hook.acknowledged(delivered);
    await waitFor(
      async () => ((await outboxRow(sql, `ticket.generated.${delivered}`))?.delivered_at ? true : undefined),
      10_000,
      "delivered",
    );

    hook.status = 500;
    const refused = await issue();
    await app.app.results.apply(generatedResult(refused));
    await waitFor(async () => ((await outboxRow(sql, `ticket.generated.${refused}`))?.gave_up_at ? true : undefined), 10_000, "given up");
    hook.status = 204;

    // Never delivered, and not looked at in this test: the relay's passes below come before its checked_at.
    await sql`insert into webhook_outbox (id, tenant_id, type, data, occurred_at, checked_at)
      values ('ticket.generated.pending', 'default', 'ticket.generated', '{}', now(), now() + interval '10 days')`;

    const now = Date.now();
    expect(await relay.relay(new Date(now + 2 * DAY_MS))).toBe(0);
    expect(await deliveries.getJobState(`ticket.generated.${refused}`)).toBe("failed");
    expect(hook.of(refused)).toHaveLength(1);
    const ids = async () => (await sql<Array<{ id: string }>>`select id from webhook_outbox order by id`).map((r) => r.id);
    expect(await ids()).toHaveLength(3);

    await relay.relay(new Date(now + 4 * DAY_MS));
    expect(await ids()).toEqual(["ticket.generated.pending"]);
  }, 60_000);
});
