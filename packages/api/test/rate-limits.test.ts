import { randomBytes, randomUUID } from "node:crypto";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { generateTicketCode } from "@ticketgen/shared";
import { RetryInfoSchema } from "@ticketgen/shared/gen/google/rpc/error_details_pb";
import { Health } from "@ticketgen/shared/gen/health/v1/health_pb";
import { ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { ticketRequest } from "./support/requests.ts";
import { clientsFor, grpcTransport, startTestApi, TEST_AUTH_SECRET, testToken, type Clients, type TestApi } from "./support/stack.ts";
import { proxyFor } from "./support/tcp-proxy.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function startApi(env: Record<string, string>): Promise<TestApi> {
  const api = await startTestApi({ AUTH_JWT_SECRET: TEST_AUTH_SECRET, ...env });
  cleanup.push(() => api.stop());
  return api;
}

/** Clients of a tenant of its own, so no other test's calls count against its budgets. */
async function tenantClients(api: TestApi): Promise<Clients> {
  return clientsFor(api.baseUrl, await testToken(`limits-${randomBytes(4).toString("hex")}`));
}

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to be refused");
}

/** The RetryInfo delay of a rate-limit refusal (ms), after checking its code and its exact message. */
function expectRetryLater(error: ConnectError, limitText: string): number {
  const [retryInfo, ...more] = error.findDetails(RetryInfoSchema);
  expect(more).toEqual([]);
  const delayMs = durationMs(retryInfo!.retryDelay!);
  expect(delayMs).toBeGreaterThan(0);
  expect(delayMs).toBeLessThanOrEqual(60_000);
  expect({ code: error.code, message: error.rawMessage }).toEqual({
    code: Code.ResourceExhausted,
    message: `rate limit: this tenant has used its ${limitText} per minute; retry in ${Math.ceil(delayMs / 1000)} s`,
  });
  return delayMs;
}

const unknownTicket = (clients: Clients) =>
  clients.tickets.getTicket({ lookup: { case: "id", value: randomUUID() } }).then(
    () => "found",
    (error: unknown) => Code[ConnectError.from(error).code],
  );

describe("per-tenant rate limits", () => {
  it("refuses CreateTicket and CreateBatch past the create budget, each guest counting as a ticket, with RESOURCE_EXHAUSTED and RetryInfo", async () => {
    const api = await startApi({ RATE_LIMIT_CREATE_PER_MINUTE: "5" });
    const tenant = await tenantClients(api);
    await tenant.tickets.createTicket(ticketRequest());
    await tenant.tickets.createTicket(ticketRequest());
    const { batch } = await tenant.batches.createBatch(batchRequest(3));
    expect(batch?.totalCount).toBe(3);

    const created = "5 tickets created (each guest of a batch counts as one)";
    expectRetryLater(await refusal(tenant.tickets.createTicket(ticketRequest())), created);
    expectRetryLater(await refusal(tenant.batches.createBatch(batchRequest(1))), created);

    // The other budgets, and other tenants, are untouched.
    const { result } = await tenant.tickets.validateTicket({ credential: { case: "ticketCode", value: generateTicketCode() } });
    expect(result).toBe(ValidationResult.NOT_FOUND);
    expect(await unknownTicket(tenant)).toBe("NotFound");
    const other = await tenantClients(api);
    expect((await other.tickets.createTicket(ticketRequest())).ticket?.id).toBeTruthy();
  });

  it("counts validations and every other call in budgets of their own; health is never limited", async () => {
    const api = await startApi({ RATE_LIMIT_VALIDATE_PER_MINUTE: "2", RATE_LIMIT_OTHER_PER_MINUTE: "3" });
    const tenant = await tenantClients(api);
    const validate = () => tenant.tickets.validateTicket({ credential: { case: "ticketCode", value: generateTicketCode() } });
    await validate();
    await validate();
    expectRetryLater(await refusal(validate()), "2 validations");

    expect(await Promise.all([unknownTicket(tenant), unknownTicket(tenant), unknownTicket(tenant)])).toEqual([
      "NotFound",
      "NotFound",
      "NotFound",
    ]);
    expectRetryLater(await refusal(tenant.tickets.getTicket({ lookup: { case: "id", value: randomUUID() } })), "3 calls");
    // A server-streaming call counts too (once), and is refused before it starts.
    expectRetryLater(await refusal(tenant.batches.watchBatch({ id: randomUUID() })[Symbol.asyncIterator]().next()), "3 calls");

    const health = createClient(Health, grpcTransport(api.baseUrl));
    for (let i = 0; i < 5; i++) await health.check({});
  });

  it("refuses a batch larger than the whole create budget without RetryInfo, and without spending the budget", async () => {
    const api = await startApi({ RATE_LIMIT_CREATE_PER_MINUTE: "5" });
    const tenant = await tenantClients(api);
    const error = await refusal(tenant.batches.createBatch(batchRequest(6)));
    expect({ code: error.code, message: error.rawMessage, retryInfo: error.findDetails(RetryInfoSchema) }).toEqual({
      code: Code.ResourceExhausted,
      message:
        "rate limit: this call counts 6 against a budget of 5 tickets created (each guest of a batch counts as one) per minute, so it can never pass; split it into smaller calls",
      retryInfo: [],
    });
    expect((await tenant.batches.createBatch(batchRequest(5))).batch?.totalCount).toBe(5);
  });

  it("shares one budget between API replicas on the same Redis", async () => {
    const one = await startApi({ RATE_LIMIT_OTHER_PER_MINUTE: "4" });
    const two = await startApi({ RATE_LIMIT_OTHER_PER_MINUTE: "4", QUEUE_PREFIX: one.config.queuePrefix });
    const token = await testToken(`limits-${randomBytes(4).toString("hex")}`);
    const [onOne, onTwo] = [clientsFor(one.baseUrl, token), clientsFor(two.baseUrl, token)];
    expect([await unknownTicket(onOne), await unknownTicket(onOne), await unknownTicket(onTwo), await unknownTicket(onTwo)]).toEqual([
      "NotFound",
      "NotFound",
      "NotFound",
      "NotFound",
    ]);
    expect(await unknownTicket(onTwo)).toBe("ResourceExhausted");
    expect(await unknownTicket(onOne)).toBe("ResourceExhausted");
  });

  it("each replica takes 1 % of a budget from Redis at a time and lets it through from memory; together they never pass more than the budget", async () => {
    const one = await startApi({ RATE_LIMIT_OTHER_PER_MINUTE: "300" });
    const two = await startApi({ RATE_LIMIT_OTHER_PER_MINUTE: "300", QUEUE_PREFIX: one.config.queuePrefix });
    const tenantId = `limits-${randomBytes(4).toString("hex")}`;
    const token = await testToken(tenantId);
    const [onOne, onTwo] = [clientsFor(one.baseUrl, token), clientsFor(two.baseUrl, token)];
    const redis = new Redis(inject("redisUrl"));
    cleanup.push(() => redis.quit());
    const counted = async () => Number(await redis.get(`${one.config.queuePrefix}:rate-limit:other:${tenantId}`));

    // One call takes a lease of 3 (1 % of 300): Redis counts 3, and the next two calls do not reach it.
    expect(await unknownTicket(onOne)).toBe("NotFound");
    expect(await counted()).toBe(3);
    expect([await unknownTicket(onOne), await unknownTicket(onOne)]).toEqual(["NotFound", "NotFound"]);
    expect(await counted()).toBe(3);
    // The next one takes another lease, which it holds 2 of.
    expect(await unknownTicket(onOne)).toBe("NotFound");
    expect(await counted()).toBe(6);

    // The other replica gets what is left in Redis (294), and no more.
    const outcomes = await Promise.all(Array.from({ length: 300 }, () => unknownTicket(onTwo)));
    expect(outcomes.filter((o) => o === "NotFound")).toHaveLength(294);
    expect(outcomes.filter((o) => o === "ResourceExhausted")).toHaveLength(6);
    // The first still lets through the 2 it holds, then is refused: 300 calls in all.
    expect([await unknownTicket(onOne), await unknownTicket(onOne), await unknownTicket(onOne)]).toEqual([
      "NotFound",
      "NotFound",
      "ResourceExhausted",
    ]);
  });

  it("a burst of calls in one turn is let through up to the budget, in order, and no further", async () => {
    const api = await startApi({ RATE_LIMIT_OTHER_PER_MINUTE: "50" });
    const tenant = await tenantClients(api);
    const outcomes = await Promise.all(Array.from({ length: 80 }, () => unknownTicket(tenant)));
    expect(outcomes.filter((o) => o === "NotFound")).toHaveLength(50);
    expect(outcomes.filter((o) => o === "ResourceExhausted")).toHaveLength(30);
  });
});

describe("rate limits while Redis is unreachable", () => {
  it("count in the process's memory instead, never waiting on a hung Redis longer than REDIS_COMMAND_TIMEOUT_MS, and in Redis again once it is back", async () => {
    const redis = proxyFor(inject("redisUrl"));
    await redis.start();
    cleanup.push(() => redis.stop());
    const api = await startApi({ REDIS_URL: redis.url("redis"), REDIS_COMMAND_TIMEOUT_MS: "300", RATE_LIMIT_OTHER_PER_MINUTE: "3" });
    const tenant = await tenantClients(api);

    // Hung: the connection stays open and nothing answers, so each call gives up on Redis.
    redis.freeze();
    expect(await unknownTicket(tenant)).toBe("NotFound");
    expect(await unknownTicket(tenant)).toBe("NotFound");
    // Down: refused connections, so calls go to memory at once.
    await redis.stop();
    expect(await unknownTicket(tenant)).toBe("NotFound");
    expect(await unknownTicket(tenant)).toBe("ResourceExhausted");

    // Back: Redis has counted none of these calls, so the tenant has its budget there again.
    await redis.start();
    await expect.poll(() => unknownTicket(tenant), { timeout: 10_000, interval: 100 }).toBe("NotFound");
  });
});
