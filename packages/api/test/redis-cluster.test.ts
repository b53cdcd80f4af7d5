import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type Client } from "@connectrpc/connect";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectProducerRedis, RENDER_QUEUE } from "@ticketgen/shared";
import { BatchService, BatchStatus, type Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { scratchDatabase, type ScratchDatabase } from "./support/database.ts";
import { pdfText } from "./support/pdf.ts";
import { spawnWorker, type Spawned } from "./support/processes.ts";
import { startRedisCluster, type RedisCluster } from "./support/redis-cluster.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, waitFor, type TestApi } from "./support/stack.ts";

const PREFIX = `{tgtest-${randomBytes(4).toString("hex")}}`;

let cluster: RedisCluster;
let api: TestApi;
let worker: Spawned;
let batches: Client<typeof BatchService>;
let coreService: Server;
/** Webhook events the core service received, in order. */
const events: Array<{ type: string; data: Record<string, unknown> }> = [];

// A database of its own: the test sweeps every pending ticket in it, and other files' tickets
// (on other queues) must not be re-enqueued here.
let database: ScratchDatabase;

beforeAll(async () => {
  database = await scratchDatabase("cluster");
  cluster = await startRedisCluster(3);
  coreService = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      events.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => coreService.listen(0, "127.0.0.1", resolve));
  api = await startTestApi({
    DATABASE_URL: database.url,
    REDIS_URL: undefined,
    REDIS_CLUSTER_NODES: cluster.seeds,
    QUEUE_PREFIX: PREFIX,
    CORE_SERVICE_WEBHOOK_URL: `http://127.0.0.1:${(coreService.address() as AddressInfo).port}/ticketgen`,
    WEBHOOK_SECRET: "webhook-secret-0123456789abcdef-0123",
    // A bound for a stuck preview, not a speed check: under the whole suite on 2 cores a preview
    // has taken over the default 30 s.
    PREVIEW_TIMEOUT_MS: "90000",
  });
  // The worker as it runs in production: its own process, configured from the environment.
  worker = spawnWorker({ ...api.env, LOG_LEVEL: "info" });
  await worker.outputMatching(/"action":"worker_started"/);
  batches = createClient(BatchService, grpcTransport(api.baseUrl));
}, 120_000);

afterAll(async () => {
  worker?.kill();
  await worker?.exited();
  await api?.stop();
  coreService?.close();
  await cluster?.stop();
  await database?.drop();
});

async function download(id: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of api.tickets.downloadTicketPdf({ id })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function generated(id: string) {
  return waitFor(
    async () => {
      const { ticket } = await api.tickets.getTicket({ lookup: { case: "id", value: id } });
      return ticket?.status === TicketStatus.PENDING ? undefined : ticket;
    },
    30_000,
    "ticket rendered",
  );
}

describe("on a Redis Cluster of three masters", () => {
  it("the cluster is really three masters sharing the 16,384 slots", async () => {
    const info = await cluster.cli(cluster.ports[0]!, "cluster", "info");
    expect(info).toContain("cluster_state:ok");
    expect(info).toContain("cluster_slots_assigned:16384");
    expect(info).toContain("cluster_known_nodes:3");
    expect(info).toContain("cluster_size:3");
  });

  it("a CreateTicket reaches GENERATED with its PDF, and the core service hears of it through the webhooks queue", async () => {
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    const done = await generated(ticket!.id);
    expect(done.status).toBe(TicketStatus.GENERATED);
    const pdf = await download(done.id);
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(pdf.length).toBe(Number(done.pdfSize));
    expect(createHash("sha256").update(pdf).digest("hex")).toBe(done.pdfSha256);
    expect(await pdfText(pdf)).toContain("Ada");
    const event = await waitFor(async () => events.find((e) => e.data.ticketId === done.id), 10_000, "ticket.generated delivered");
    expect(event).toMatchObject({ type: "ticket.generated", data: { ticketId: done.id, status: "GENERATED" } });
  });

  it(
    "a tenant template reaches the worker through Redis, and PreviewTemplate gets its PDF back through QueueEvents",
    { timeout: 150_000 },
    async () => {
      await api.templates.putTemplate({ id: "cluster", content: "<h1>Cluster ticket for {{firstName}}</h1>{{qrCode}}" });
      const { ticket } = await api.tickets.createTicket({ ...ticketRequest(), templateId: "cluster" });
      const done = await generated(ticket!.id);
      expect(done.status).toBe(TicketStatus.GENERATED);
      expect(await pdfText(await download(done.id))).toContain("Cluster ticket for Ada");

      const preview = await api.templates.previewTemplate({
        source: { case: "content", value: "<h1>Preview for {{firstName}} {{lastName}}</h1>" },
      });
      expect(await pdfText(preview.pdf)).toContain("Preview for Camille Martin");
    },
  );

  it("a 150-guest batch in two chunks completes; WatchBatch streams its progress, announced over cluster pub/sub once a chunk", async () => {
    const { batch } = await batches.createBatch(batchRequest(150));
    let announcements = 0;
    const unlisten = await api.app.progress.listen("default", batch!.id, () => announcements++);
    // The sweeper reads both chunks' job states from the cluster: alive, so nothing to re-enqueue.
    expect(await api.app.sweeper.sweep(new Date(Date.now() + 3_600_000))).toBe(0);
    const seen: Batch[] = [];
    for await (const { batch: state } of batches.watchBatch({ id: batch!.id })) seen.push(state!);
    await unlisten();

    expect(seen[0]).toMatchObject({ status: BatchStatus.PROCESSING, totalCount: 150, completedCount: 0, failedCount: 0 });
    expect(seen.at(-1)).toMatchObject({ status: BatchStatus.COMPLETED, totalCount: 150, completedCount: 150, failedCount: 0 });
    const counts = seen.map((b) => b.completedCount);
    // Whole chunks only (100 and 50 tickets, in either order), each state once.
    for (const count of counts) expect([0, 50, 100, 150]).toContain(count);
    expect(counts).toEqual([...new Set(counts)].sort((a, b) => a - b));
    expect(announcements).toBe(2);
    const completed = await waitFor(async () => events.find((e) => e.data.batchId === batch!.id), 10_000, "batch.completed delivered");
    expect(completed).toMatchObject({
      type: "batch.completed",
      data: { status: "COMPLETED", totalCount: 150, completedCount: 150, failedCount: 0 },
    });
  }, 90_000);

  it("every key the stack wrote carries the prefix's hash tag: all in its one slot, on the one master serving it", async () => {
    const slot = await cluster.cli(cluster.ports[0]!, "cluster", "keyslot", PREFIX);
    // The stack keeps writing (job ids, stalled checks, expiring counters): each node's keys and counts
    // are read in one script, so nothing can come or go between them.
    const snapshot = async (port: number) => {
      const [dbsize, inSlot, ...keys] = (
        await cluster.cli(
          port,
          "eval",
          "return {redis.call('DBSIZE'), redis.call('CLUSTER', 'COUNTKEYSINSLOT', ARGV[1]), unpack(redis.call('KEYS', ARGV[2]))}",
          "0",
          slot,
          `${PREFIX}*`,
        )
      ).split("\n");
      return { counts: [dbsize!, inSlot!], keys: keys.filter(Boolean).sort() };
    };
    const snapshots = await Promise.all(cluster.ports.map(snapshot));
    const keysByNode = snapshots.map((s) => s.keys);
    const counts = snapshots.map((s) => s.counts);
    const holders = cluster.ports.filter((_, i) => keysByNode[i]!.length > 0);
    expect(holders).toHaveLength(1);
    const owner = holders[0]!;
    const keys = keysByNode[cluster.ports.indexOf(owner)]!;
    // Nothing else writes to this cluster: every key on the owner is ours, and all are in the slot.
    const [dbsize, inSlot] = counts[cluster.ports.indexOf(owner)]!;
    expect(dbsize).toBe(String(keys.length));
    expect(inSlot).toBe(String(keys.length));
    expect(new Set(keys.map((key) => key.slice(PREFIX.length).split(":")[1]))).toEqual(
      new Set(["render", "render-results", "webhooks", "template", "rate-limit", "published"]),
    );
    expect(keys).toContain(`${PREFIX}:template:default:cluster:1`);
    // The per-tenant rate-limit counters live in the same slot: every replica shares them.
    expect(keys).toContain(`${PREFIX}:rate-limit:create:default`);
  });

  it("why a cluster requires the hash tag: without it, BullMQ's scripts would touch keys of several slots", async () => {
    const redis = connectProducerRedis(api.config);
    const queue = new Queue(RENDER_QUEUE, { connection: redis, prefix: PREFIX.slice(1, -1) });
    try {
      await expect(queue.add("probe", {})).rejects.toThrow("CROSSSLOT Keys in request don't hash to the same slot");
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
