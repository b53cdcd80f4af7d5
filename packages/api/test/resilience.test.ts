import { Code, ConnectError } from "@connectrpc/connect";
import { Queue } from "bullmq";
import { afterEach, describe, expect, inject, it } from "vitest";
import { RENDER_QUEUE } from "@ticketgen/shared";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi, waitFor, type TestApi } from "./support/stack.ts";
import { proxyFor, type TcpProxy } from "./support/tcp-proxy.ts";
import { scratchDatabase } from "./support/database.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function withProxy(url: string): Promise<TcpProxy> {
  const proxy = proxyFor(url);
  await proxy.start();
  cleanup.push(() => proxy.stop());
  return proxy;
}

async function startApiWith(env: Record<string, string>): Promise<TestApi> {
  const api = await startTestApi(env);
  cleanup.push(() => api.stop());
  return api;
}

describe("Redis down during CreateTicket", () => {
  it("stores the ticket, answers while Redis is still down, and the sweeper enqueues it once Redis is back", async () => {
    const redis = await withProxy(inject("redisUrl"));
    // A database of its own: the sweeps below take every PENDING ticket in the database.
    const database = await scratchDatabase("resilience");
    cleanup.push(() => database.drop());
    const api = await startApiWith({
      DATABASE_URL: database.url,
      REDIS_URL: redis.url("redis"),
      SWEEP_INTERVAL_MS: "200",
      SWEEP_MIN_AGE_MS: "0",
      REDIS_COMMAND_TIMEOUT_MS: "300",
    });
    const queue = new Queue(RENDER_QUEUE, { connection: { url: inject("redisUrl") }, prefix: api.config.queuePrefix });
    cleanup.push(() => queue.obliterate({ force: true }).then(() => queue.close()));

    await redis.stop();
    await api.app.sweeper.stop();
    // Redis comes back only after this answer: a CreateTicket that waited for it would hang here.
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    expect(ticket?.status).toBe(TicketStatus.PENDING);
    expect(await queue.getJob(ticket!.id)).toBeUndefined();

    await redis.start();
    api.app.sweeper.start();
    const job = await waitFor(() => queue.getJob(ticket!.id), 10_000);
    expect(job.data.qrPayload).toBe(ticket!.qrPayload);
    // Sweeping again adds nothing twice.
    const before = await queue.getJobCounts("prioritized", "waiting");
    await api.app.sweeper.sweep();
    expect(await queue.getJobCounts("prioritized", "waiting")).toEqual(before);
    expect((await queue.getJob(ticket!.id))?.timestamp).toBe(job.timestamp);
  });

  it("reports NOT_SERVING while Redis is unreachable and SERVING once it is back", async () => {
    const redis = await withProxy(inject("redisUrl"));
    const api = await startApiWith({ REDIS_URL: redis.url("redis") });
    expect(api.app.health.serving).toBe(true);
    await redis.stop();
    await waitFor(async () => (api.app.health.serving ? undefined : true), 15_000);
    await redis.start();
    await waitFor(async () => (api.app.health.serving ? true : undefined), 10_000);
  });
});

describe("PostgreSQL down", () => {
  it("fails calls with UNAVAILABLE and a plain message while it is down, then recovers", async () => {
    const db = await withProxy(inject("databaseUrl"));
    const api = await startApiWith({ DATABASE_URL: db.url("postgres", new URL(inject("databaseUrl")).pathname) });
    const { ticket } = await api.tickets.createTicket(ticketRequest());

    await db.stop();
    for (const call of [
      () => api.tickets.createTicket(ticketRequest()),
      () => api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } }),
      () => api.tickets.validateTicket({ credential: { case: "qrPayload", value: ticket!.qrPayload } }),
    ]) {
      // PostgreSQL comes back only after these answers: a call that waited for it would hang here.
      const error = await call().then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect({ code: error?.code, message: error?.rawMessage }).toEqual({
        code: Code.Unavailable,
        message: "the ticket database is unavailable; retry later",
      });
    }
    await waitFor(async () => (api.app.health.serving ? undefined : true), 15_000);

    await db.start();
    const again = await waitFor(() => api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } }).catch(() => undefined), 10_000);
    expect(again.ticket?.id).toBe(ticket!.id);
  });
});
