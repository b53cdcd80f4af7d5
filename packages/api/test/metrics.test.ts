import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

let api: TestApi;
let worker: RenderWorker;

beforeAll(async () => {
  api = await startTestApi();
  worker = await startTestWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
});

const scrape = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
};

/** The value of the first sample of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe("Prometheus metrics", () => {
  it("API and worker expose the seed's metrics, with their labels, after a real ticket and a real batch", async () => {
    const request = ticketRequest();
    const { ticket } = await api.tickets.createTicket(request);
    await waitFor(
      async () => ((await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })).ticket?.status === TicketStatus.GENERATED ? true : undefined),
      30_000,
    );
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { batch } = await batches.createBatch(batchRequest(3));
    for await (const { batch: update } of batches.watchBatch({ id: batch!.id })) if (update?.status !== BatchStatus.PROCESSING) break;

    const apiText = await scrape(api.app.metricsPort);
    expect(sample(apiText, "tickets_generated_total", { event_id: request.event!.id, template_id: "builtin", status: "generated", service: "ticketgen-api" })).toBe(1);
    expect(sample(apiText, "batch_jobs_total", { status: "COMPLETED" })).toBeGreaterThanOrEqual(1);
    expect(sample(apiText, "ticket_generation_duration_seconds_count")).toBeGreaterThanOrEqual(4);
    expect(sample(apiText, "ticket_generation_queue_size")).toBe(0);
    expect(sample(apiText, "grpc_server_handled_total", { method: "ticketgen.v1.TicketService/CreateTicket", code: "OK" })).toBe(1);
    expect(sample(apiText, "grpc_server_handling_seconds_count", { method: "ticketgen.v1.BatchService/WatchBatch" })).toBe(1);
    expect(sample(apiText, "process_cpu_seconds_total")).toBeGreaterThan(0);

    const workerText = await scrape(worker.metricsPort);
    expect(sample(workerText, "pdf_generation_duration_seconds_count", { job: "ticket", service: "ticketgen-render-worker" })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "pdf_generation_duration_seconds_count", { job: "chunk" })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "browser_launches_total")).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "browser_pages_busy")).toBe(0);
  });

  it("the queue-size gauge follows a real queue", async () => {
    await worker.worker.pause();
    try {
      for (let i = 0; i < 3; i++) await api.tickets.createTicket(ticketRequest());
      expect(sample(await scrape(api.app.metricsPort), "ticket_generation_queue_size")).toBe(3);
    } finally {
      worker.worker.resume();
    }
    await waitFor(async () => (sample(await scrape(api.app.metricsPort), "ticket_generation_queue_size") === 0 ? true : undefined), 30_000, "queue drained");
  });
});
