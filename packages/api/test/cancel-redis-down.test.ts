import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { batchChunkPdfKey, chunkJobId, createBlobStore, isBatchCancelled, RENDER_QUEUE, RESULTS_QUEUE } from "@ticketgen/shared";
import { BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { scratchDatabase } from "./support/database.ts";
import { clientsFor, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";
import { proxyFor, type TcpProxy } from "./support/tcp-proxy.ts";

const GUESTS = 6;
const CHUNKS = 3;

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/**
 * An API whose Redis sits behind a proxy the test can stop, on a database of its own (the
 * cancel relay takes every untold cancel of its database), with its render queue and a direct
 * Redis connection for looking at it.
 */
async function apiWithRedisProxy(): Promise<{ api: TestApi; redisProxy: TcpProxy; queue: Queue; redis: Redis }> {
  const redisProxy = proxyFor(inject("redisUrl"));
  await redisProxy.start();
  cleanup.push(() => redisProxy.stop());
  const database = await scratchDatabase("cancel");
  cleanup.push(() => database.drop());
  const api = await startTestApi({
    DATABASE_URL: database.url,
    REDIS_URL: redisProxy.url("redis"),
    REDIS_COMMAND_TIMEOUT_MS: "300",
    SWEEP_INTERVAL_MS: "200",
    BATCH_SIZE: String(GUESTS / CHUNKS),
  });
  cleanup.push(() => api.stop());
  const queue = new Queue(RENDER_QUEUE, { connection: { url: inject("redisUrl") }, prefix: api.config.queuePrefix });
  cleanup.push(() => queue.close());
  const redis = new Redis(inject("redisUrl"));
  cleanup.push(async () => redis.disconnect());
  return { api, redisProxy, queue, redis };
}

async function chunkJobs(queue: Queue, batchId: string): Promise<number> {
  const jobs = await Promise.all(Array.from({ length: CHUNKS }, (_, i) => queue.getJob(chunkJobId(batchId, i))));
  return jobs.filter((job) => job !== undefined).length;
}

describe("CancelBatch while the API cannot reach Redis", () => {
  it("answers CANCELLED; once Redis is back, the relay removes the queued chunks and none is rendered", async () => {
    const { api, redisProxy, queue, redis } = await apiWithRedisProxy();
    // The worker reaches Redis directly: only the API's path to it is cut.
    const worker = await startTestWorker(api, { REDIS_URL: inject("redisUrl") });
    cleanup.push(() => {
      worker.worker.resume();
      return worker.stop();
    });
    await worker.worker.pause();
    const { batches, tickets } = clientsFor(api.baseUrl);
    const request = batchRequest(GUESTS);
    const { batch } = await batches.createBatch(request);
    const id = batch!.id;
    expect(await chunkJobs(queue, id)).toBe(CHUNKS);

    await redisProxy.stop();
    const { batch: cancelled } = await batches.cancelBatch({ id });
    expect(cancelled?.status).toBe(BatchStatus.CANCELLED);
    // Nothing reached Redis yet: were the worker running, it would render every chunk.
    expect(await isBatchCancelled(redis, api.config.queuePrefix, "default", id)).toBe(false);
    expect(await chunkJobs(queue, id)).toBe(CHUNKS);

    await redisProxy.start();
    await waitFor(
      async () => ((await isBatchCancelled(redis, api.config.queuePrefix, "default", id)) ? true : undefined),
      15_000,
      "the cancel mark",
    );
    await waitFor(async () => ((await chunkJobs(queue, id)) === 0 ? true : undefined), 15_000, "queued chunks removed");

    worker.worker.resume();
    const resultQueue = new Queue(RESULTS_QUEUE, { connection: { url: inject("redisUrl") }, prefix: api.config.queuePrefix });
    cleanup.push(() => resultQueue.close());
    await waitFor(
      async () => {
        const counts = await Promise.all([queue, resultQueue].map((q) => q.getJobCounts("active", "waiting", "prioritized", "delayed")));
        return counts.every((count) => Object.values(count).every((n) => n === 0)) ? true : undefined;
      },
      15_000,
      "queues idle",
    );
    const blobs = createBlobStore(api.config.blobStore);
    const documents = await Promise.all(Array.from({ length: CHUNKS }, (_, i) => blobs.size(batchChunkPdfKey("default", id, i))));
    expect(documents).toEqual(Array.from({ length: CHUNKS }, () => undefined));
    const { tickets: stored } = await tickets.listTickets({ eventId: request.event!.id, pageSize: 100 });
    expect(stored.map((t) => t.status)).toEqual(Array.from({ length: GUESTS }, () => TicketStatus.REVOKED));
  }, 60_000);

  it("a retried CancelBatch tells the workers once Redis answers again, without waiting for the relay", async () => {
    const { api, redisProxy, queue, redis } = await apiWithRedisProxy();
    // No worker (the chunks stay queued) and no sweep: only CancelBatch can tell Redis.
    await api.app.sweeper.stop();
    const { batches } = clientsFor(api.baseUrl);
    const { batch } = await batches.createBatch(batchRequest(GUESTS));
    const id = batch!.id;

    await redisProxy.stop();
    expect((await batches.cancelBatch({ id })).batch?.status).toBe(BatchStatus.CANCELLED);
    await redisProxy.start();
    // Every retry answers CANCELLED; the first after the API's reconnection tells Redis.
    await waitFor(
      async () => {
        expect((await batches.cancelBatch({ id })).batch?.status).toBe(BatchStatus.CANCELLED);
        return (await isBatchCancelled(redis, api.config.queuePrefix, "default", id)) ? true : undefined;
      },
      15_000,
      "the cancel mark",
    );
    expect(await chunkJobs(queue, id)).toBe(0);
  }, 60_000);
});
