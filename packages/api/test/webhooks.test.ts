import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { createClient } from "@connectrpc/connect";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { WEBHOOK_QUEUE } from "../src/webhooks/webhook-notifier.ts";
import { batchRequest } from "./support/batches.ts";
import { sample, scrape } from "./support/metrics.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";
import { generatedResult } from "./support/results.ts";

const SECRET = "webhook-secret-0123456789abcdef-0123";

interface Received {
  attempt: number;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let api: TestApi;
let worker: RenderWorker;
let receiver: Server;
let deliveries: Queue;
const received: Received[] = [];

beforeAll(async () => {
  const attempts = new Map<string, number>();
  // The core service: the first delivery of every event fails with 500, the retry succeeds.
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const delivery = String(req.headers["x-ticketgen-delivery"]);
      const attempt = (attempts.get(delivery) ?? 0) + 1;
      attempts.set(delivery, attempt);
      const status = attempt === 1 ? 500 : 204;
      received.push({ attempt, status, headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  api = await startTestApi({
    CORE_SERVICE_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ticketgen`,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_RETRY_DELAY: "100",
  });
  worker = await startTestWorker(api);
  deliveries = new Queue(WEBHOOK_QUEUE, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
});

afterAll(async () => {
  await deliveries?.close();
  await worker?.stop();
  await api?.stop();
  receiver?.close();
});

describe("core service webhook", () => {
  it("POSTs ticket.generated signed with HMAC, retried after a 500 until acknowledged, once", async () => {
    const createdAt = Math.floor(Date.now() / 1000);
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    const delivered = await waitFor(
      async () => received.find((r) => r.status === 204 && JSON.parse(r.body).data.ticketId === ticket!.id),
      30_000,
      "webhook acknowledged",
    );
    const attempts = received.filter((r) => JSON.parse(r.body).data.ticketId === ticket!.id);
    expect(attempts.map((r) => r.status)).toEqual([500, 204]);
    const metrics = await scrape(api.app.metricsPort);
    expect(sample(metrics, "webhook_deliveries_total", { event: "ticket.generated", outcome: "http_error" })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, "webhook_deliveries_total", { event: "ticket.generated", outcome: "delivered" })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, "webhook_delivery_duration_seconds_count")).toBeGreaterThanOrEqual(2);

    const body = JSON.parse(delivered.body);
    expect(body).toMatchObject({
      id: `ticket.generated.${ticket!.id}`,
      type: "ticket.generated",
      data: { ticketId: ticket!.id, ticketCode: ticket!.ticketCode, eventId: ticket!.eventId, status: "GENERATED" },
    });
    expect(body.data.pdfSize).toBeGreaterThan(1000);
    expect(delivered.headers["x-ticketgen-event"]).toBe("ticket.generated");

    const signature = String(delivered.headers["x-ticketgen-signature"]);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
    expect(v1).toBe(createHmac("sha256", SECRET).update(`${t}.${delivered.body}`).digest("hex"));
    // Signed when sent: after the ticket was asked for, not before.
    expect(Number(t)).toBeGreaterThanOrEqual(createdAt);
    expect(Number(t)).toBeLessThanOrEqual(Date.now() / 1000);

    // A redelivered render result does not notify twice.
    await api.app.results.apply(generatedResult(ticket!.id));
    // A second delivery would be a job of the webhook queue: once none is waiting or running, none was sent.
    await waitFor(
      async () =>
        Object.values(await deliveries.getJobCounts("active", "waiting", "prioritized", "delayed")).every((n) => n === 0)
          ? true
          : undefined,
      30_000,
      "webhook queue idle",
    );
    expect(received.filter((r) => JSON.parse(r.body).data.ticketId === ticket!.id)).toHaveLength(2);
  });

  it("POSTs batch.completed once for a batch, not one event per ticket", async () => {
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { batch } = await batches.createBatch(batchRequest(3));
    const delivered = await waitFor(
      async () => received.find((r) => r.status === 204 && JSON.parse(r.body).data.batchId === batch!.id),
      30_000,
      "batch.completed acknowledged",
    );
    expect(JSON.parse(delivered.body)).toMatchObject({
      id: `batch.completed.${batch!.id}`,
      type: "batch.completed",
      data: { batchId: batch!.id, status: "COMPLETED", totalCount: 3, completedCount: 3, failedCount: 0 },
    });
    const batchTickets = received.filter(
      (r) => JSON.parse(r.body).type === "ticket.generated" && JSON.parse(r.body).data.batchId === batch!.id,
    );
    expect(batchTickets).toEqual([]);
  });

  it("counts a delivery that cannot connect as network_error, then gave_up on its last attempt", async () => {
    // Port 1: connection refused. No worker: the render result is applied by hand.
    const unreachable = await startTestApi({
      CORE_SERVICE_WEBHOOK_URL: "http://127.0.0.1:1/ticketgen",
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_RETRY_DELAY: "50",
      WEBHOOK_MAX_ATTEMPTS: "2",
    });
    try {
      const { ticket } = await unreachable.tickets.createTicket(ticketRequest());
      await unreachable.app.results.apply(generatedResult(ticket!.id));
      const count = (outcome: string, text: string) => sample(text, "webhook_deliveries_total", { event: "ticket.generated", outcome });
      const metrics = await waitFor(
        async () => {
          const text = await scrape(unreachable.app.metricsPort);
          return count("gave_up", text) === 1 ? text : undefined;
        },
        20_000,
        "gave_up counted",
      );
      expect(count("network_error", metrics)).toBe(1);
      expect(count("delivered", metrics)).toBeUndefined();
    } finally {
      await unreachable.stop();
    }
  });

  it("refuses to start with a webhook URL but no signing secret", async () => {
    await expect(startTestApi({ CORE_SERVICE_WEBHOOK_URL: "http://127.0.0.1:1/x" })).rejects.toThrow(
      "WEBHOOK_SECRET: must be set to at least 32 bytes when CORE_SERVICE_WEBHOOK_URL is set",
    );
  });
});
