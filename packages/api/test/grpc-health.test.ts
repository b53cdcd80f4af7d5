import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { afterEach, describe, expect, inject, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@ticketgen/shared/gen/health/v1/health_pb";
import { freePort, RedisServer } from "./support/redis-server.ts";
import { grpcTransport, startTestApi, waitFor, type TestApi } from "./support/stack.ts";
import { proxyFor } from "./support/tcp-proxy.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const TICKETS = "ticketgen.v1.TicketService";
const BATCHES = "ticketgen.v1.BatchService";
const TEMPLATES = "ticketgen.v1.TemplateService";
const HEALTH = "grpc.health.v1.Health";
const REFLECTION_V1 = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection";
const ALL = ["", TICKETS, BATCHES, TEMPLATES, HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA];

async function api(env: Record<string, string> = {}): Promise<{ api: TestApi; health: Client<typeof Health> }> {
  const started = await startTestApi(env);
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= started.stop());
  cleanup.push(stop);
  return { api: { ...started, stop }, health: createClient(Health, grpcTransport(started.baseUrl)) };
}

/** Every name List reports, with its status. */
async function listed(health: Client<typeof Health>): Promise<Record<string, Status>> {
  const { statuses } = await health.list({});
  return Object.fromEntries(Object.entries(statuses).map(([name, response]) => [name, response.status]));
}

const statuses = (serving: readonly string[]) =>
  Object.fromEntries(ALL.map((name) => [name, serving.includes(name) ? Status.SERVING : Status.NOT_SERVING]));

/** Collects a Watch stream's statuses until aborted. */
function watch(health: Client<typeof Health>, service: string) {
  const controller = new AbortController();
  const seen: Status[] = [];
  const done = (async () => {
    try {
      for await (const { status } of health.watch({ service }, { signal: controller.signal })) seen.push(status);
    } catch (error) {
      if (ConnectError.from(error).code !== Code.Canceled) throw error;
    }
  })();
  cleanup.push(async () => {
    controller.abort();
    await done;
  });
  return seen;
}

describe("grpc.health.v1 per service", () => {
  it("answers Check for the server and every served service, NOT_FOUND for others", async () => {
    const { health } = await api();
    for (const service of ALL) expect(await health.check({ service })).toMatchObject({ status: Status.SERVING });
    const error = await health.check({ service: "nope.Service" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect({ code: error?.code, message: error?.rawMessage }).toEqual({
      code: Code.NotFound,
      message: "Health status unknown for service nope.Service",
    });
    expect(await listed(health)).toEqual(statuses(ALL));
  });

  it("with Redis down only the services that need Redis, and the server, are NOT_SERVING", async () => {
    const redis = new RedisServer(await freePort());
    await redis.start();
    cleanup.push(() => redis.stop());
    const { health } = await api({ REDIS_URL: redis.url });
    const tickets = watch(health, TICKETS);
    const batches = watch(health, BATCHES);
    await waitFor(async () => (tickets.length === 1 && batches.length === 1 ? true : undefined), 15_000, "first Watch answers");

    await redis.stop();
    await waitFor(
      async () => ((await health.check({ service: "" })).status === Status.NOT_SERVING ? true : undefined),
      15_000,
      "server NOT_SERVING",
    );
    expect(await listed(health)).toEqual(statuses([TICKETS, HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA]));
    expect(await health.check({ service: TEMPLATES })).toMatchObject({ status: Status.NOT_SERVING });

    await redis.start();
    await waitFor(
      async () => ((await health.check({ service: "" })).status === Status.SERVING ? true : undefined),
      10_000,
      "server SERVING",
    );
    expect(await listed(health)).toEqual(statuses(ALL));
    await waitFor(async () => (batches.length === 3 ? true : undefined), 15_000, "BatchService Watch caught up");
    expect({ tickets, batches }).toEqual({ tickets: [Status.SERVING], batches: [Status.SERVING, Status.NOT_SERVING, Status.SERVING] });
  });

  it("with PostgreSQL down every ticketgen service is NOT_SERVING; Health and reflection still serve", async () => {
    const db = proxyFor(inject("databaseUrl"));
    await db.start();
    cleanup.push(() => db.stop());
    const { health } = await api({ DATABASE_URL: db.url("postgres", new URL(inject("databaseUrl")).pathname) });

    await db.stop();
    await waitFor(
      async () => ((await health.check({ service: TICKETS })).status === Status.NOT_SERVING ? true : undefined),
      15_000,
      "TicketService NOT_SERVING",
    );
    expect(await listed(health)).toEqual(statuses([HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA]));

    await db.start();
    await waitFor(
      async () => ((await health.check({ service: "" })).status === Status.SERVING ? true : undefined),
      10_000,
      "server SERVING",
    );
    expect(await listed(health)).toEqual(statuses(ALL));
  });

  it("reports NOT_SERVING for everything, Health included, once draining; Watch of an unknown service stays open until then", async () => {
    const { api: server, health } = await api();
    const unknown = health.watch({ service: "nope.Service" })[Symbol.asyncIterator]();
    expect(await unknown.next()).toMatchObject({ done: false, value: { status: Status.SERVICE_UNKNOWN } });
    const next = unknown.next();
    // Staying open is a non-event: nothing to await, so the stream gets time to end (wrongly).
    expect(await Promise.race([next, new Promise((resolve) => setTimeout(() => resolve("still open"), 500))])).toBe("still open");

    server.app.health.drain();
    expect(await listed(health)).toEqual(statuses([]));
    for (const service of ALL) expect(await health.check({ service })).toMatchObject({ status: Status.NOT_SERVING });

    await server.stop();
    expect(await next).toMatchObject({ done: true });
  });
});
