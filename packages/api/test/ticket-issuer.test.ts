import { Code, ConnectError } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { connectProducerRedis, createLogger, generateTicketCode, loadConfig, RENDER_QUEUE, type Config } from "@ticketgen/shared";
import { AssetPublisher } from "../src/assets/asset-publisher.ts";
import { AssetRepository } from "../src/assets/asset-repository.ts";
import { openDatabase, type Database } from "../src/db/database.ts";
import { RenderDispatcher } from "../src/queue/render-dispatcher.ts";
import { RedisLossWatch } from "../src/queue/redis-loss-watch.ts";
import { RenderQueue } from "../src/queue/render-queue.ts";
import { TemplatePublisher } from "../src/templates/template-publisher.ts";
import { TemplateRepository } from "../src/templates/template-repository.ts";
import { MAX_ISSUE_ATTEMPTS, TicketIssuer, type IssueContext } from "../src/tickets/ticket-issuer.ts";
import { TicketRepository } from "../src/tickets/ticket-repository.ts";
import { ticketRequest } from "./support/requests.ts";
import { testEnv } from "./support/stack.ts";

let config: Config;
let database: Database;
let redis: ReturnType<typeof connectProducerRedis>;
let renderQueue: RenderQueue;
let repository: TicketRepository;
let templates: TemplateRepository;
let dispatcher: RenderDispatcher;

beforeAll(async () => {
  config = loadConfig(testEnv());
  database = await openDatabase(config);
  await database.migrate();
  redis = connectProducerRedis(config);
  const logger = createLogger("issuer-test", "silent");
  renderQueue = new RenderQueue(
    redis,
    { prefix: config.queuePrefix, attempts: 1, backoffDelayMs: 0, timeoutMs: config.redisCommandTimeoutMs },
    logger,
  );
  repository = new TicketRepository(database.db);
  templates = new TemplateRepository(database.db);
  const lossWatch = new RedisLossWatch(redis, config.queuePrefix, logger);
  const assets = new AssetPublisher(redis, config.queuePrefix, new AssetRepository(database.db), lossWatch, logger);
  dispatcher = new RenderDispatcher(renderQueue, templates, new TemplatePublisher(redis, config.queuePrefix, lossWatch), assets, logger);
});

afterAll(async () => {
  const queue = new Queue(RENDER_QUEUE, { connection: redis, prefix: config.queuePrefix });
  await queue.obliterate({ force: true });
  await queue.close();
  await renderQueue?.close();
  redis?.disconnect();
  await database?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

/** What issuing a ticket of a fresh event at `now` shares, as TicketIssuer.issue builds it. */
function context(now: Date): IssueContext {
  const { event, ticketType } = ticketRequest();
  return { tenantId: "ids", event: event!, ticketType: ticketType!, templateId: "", templateVersion: 0, locale: "fr", now };
}

function expectStrictlyIncreasing(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i]! > ids[i - 1]!)) throw new Error(`id ${i} (${ids[i]}) is not after id ${i - 1} (${ids[i - 1]})`);
  }
}

describe("ticket ids", () => {
  const guest = ticketRequest().guest!;

  it("increase strictly when many are made in a tight loop for one issue time", () => {
    const issuer = new TicketIssuer(repository, templates, dispatcher, config);
    const shared = context(new Date());
    expectStrictlyIncreasing(Array.from({ length: 5000 }, () => issuer.ticketRow(shared, guest).id));
  });

  it("increase strictly while the clock stands still, and after it steps back", () => {
    const issuer = new TicketIssuer(repository, templates, dispatcher, config);
    const start = new Date("2031-06-01T12:00:00.000Z");
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const ids = Array.from({ length: 2000 }, () => issuer.ticketRow(context(new Date()), guest).id);
    vi.setSystemTime(start.getTime() - 60_000);
    ids.push(...Array.from({ length: 2000 }, () => issuer.ticketRow(context(new Date()), guest).id));
    expectStrictlyIncreasing(ids);
  });
});

describe("TicketIssuer.issue retries", () => {
  it(`gives up with ABORTED after ${MAX_ISSUE_ATTEMPTS} inserts that each collide with a stored ticket code`, async () => {
    const taken = generateTicketCode();
    const first = new TicketIssuer(repository, templates, dispatcher, config, () => taken);
    const stored = await first.issue("retries", ticketRequest());
    expect(stored.ticketCode).toBe(taken);

    const drawn: string[] = [];
    const colliding = new TicketIssuer(repository, templates, dispatcher, config, () => {
      drawn.push(taken);
      return taken;
    });
    const request = ticketRequest();
    const error = await colliding.issue("retries", request).then(
      () => {
        throw new Error("expected the issue to fail");
      },
      (e: unknown) => ConnectError.from(e),
    );
    expect(error.code).toBe(Code.Aborted);
    expect(error.rawMessage).toBe(
      `could not store the ticket: ${MAX_ISSUE_ATTEMPTS} attempts each drew a ticket code already in use or lost a race on its idempotency key; retry the call (with the same idempotency_key it is safe)`,
    );
    expect(drawn).toHaveLength(MAX_ISSUE_ATTEMPTS);
    expect(await repository.listByEvent("retries", request.event!.id, undefined, 10)).toEqual([]);
  });

  it("stores the ticket when a later attempt draws a free code", async () => {
    const taken = generateTicketCode();
    await new TicketIssuer(repository, templates, dispatcher, config, () => taken).issue("retries", ticketRequest());
    const codes = [taken, taken, generateTicketCode()];
    const issuer = new TicketIssuer(repository, templates, dispatcher, config, () => codes.shift()!);
    const request = ticketRequest({ idempotencyKey: `order-${randomUUID()}` });
    const ticket = await issuer.issue("retries", request);
    expect(codes).toEqual([]);
    expect(ticket.ticketCode).not.toBe(taken);
    expect(await repository.findByIdempotencyKey("retries", request.idempotencyKey)).toMatchObject({ id: ticket.id });
  });
});
