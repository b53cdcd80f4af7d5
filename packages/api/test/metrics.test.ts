import { spawnSync } from "node:child_process";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { sample, scrape } from "./support/metrics.ts";
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

describe("Prometheus metrics", () => {
  it("API and worker expose the seed's metrics, with their labels, after a real ticket and a real batch", async () => {
    const request = ticketRequest();
    const { ticket } = await api.tickets.createTicket(request);
    await waitFor(
      async () =>
        (await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })).ticket?.status === TicketStatus.GENERATED
          ? true
          : undefined,
      30_000,
    );
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { batch } = await batches.createBatch(batchRequest(3));
    for await (const { batch: update } of batches.watchBatch({ id: batch!.id })) if (update?.status !== BatchStatus.PROCESSING) break;

    const apiText = await scrape(api.app.metricsPort);
    expect(
      sample(apiText, "tickets_generated_total", {
        event_id: request.event!.id,
        template_id: "builtin",
        status: "generated",
        service: "ticketgen-api",
      }),
    ).toBe(1);
    expect(sample(apiText, "batch_jobs_total", { status: "COMPLETED" })).toBeGreaterThanOrEqual(1);
    expect(sample(apiText, "ticket_generation_duration_seconds_count")).toBeGreaterThanOrEqual(4);
    expect(sample(apiText, "ticket_generation_queue_size")).toBe(0);
    expect(sample(apiText, "grpc_server_handled_total", { method: "ticketgen.v1.TicketService/CreateTicket", code: "OK" })).toBe(1);
    expect(sample(apiText, "grpc_server_handling_seconds_count", { method: "ticketgen.v1.BatchService/WatchBatch" })).toBe(1);
    expect(sample(apiText, "process_cpu_seconds_total")).toBeGreaterThan(0);
    // The single ticket's result and the chunk's.
    expect(sample(apiText, "render_results_lag_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(sample(apiText, "render_results_queue_size")).toBe(0);

    const workerText = await scrape(worker.metricsPort);
    expect(
      sample(workerText, "pdf_generation_duration_seconds_count", { job: "ticket", service: "ticketgen-render-worker" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "pdf_generation_duration_seconds_count", { job: "chunk" })).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "browser_launches_total")).toBeGreaterThanOrEqual(1);
    expect(sample(workerText, "browser_pages_busy")).toBe(0);
    expect(sample(workerText, "browser_pages")).toBeGreaterThanOrEqual(1);
    expect(workerText).toContain("# TYPE render_failures_total counter");
  });

  it("both outputs pass promtool check metrics with no lint problem, after a real ticket and a real batch", async () => {
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { batch } = await batches.createBatch(batchRequest(2));
    for await (const { batch: update } of batches.watchBatch({ id: batch!.id })) if (update?.status !== BatchStatus.PROCESSING) break;
    await waitFor(
      async () =>
        (await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })).ticket?.status === TicketStatus.GENERATED
          ? true
          : undefined,
      30_000,
    );
    for (const port of [api.app.metricsPort, worker.metricsPort]) {
      const text = await scrape(port);
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      if (check.error) throw new Error(`promtool: ${check.error.message} (Debian: apt-get install prometheus; scripts/test.sh does)`);
      // promtool prints lint problems ("counter metrics should have _total suffix", …) and exits 3.
      expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: "" });
    }
  });

  it("the queue-size gauge follows a real queue", async () => {
    await worker.worker.pause();
    try {
      for (let i = 0; i < 3; i++) await api.tickets.createTicket(ticketRequest());
      expect(sample(await scrape(api.app.metricsPort), "ticket_generation_queue_size")).toBe(3);
    } finally {
      worker.worker.resume();
    }
    await waitFor(
      async () => (sample(await scrape(api.app.metricsPort), "ticket_generation_queue_size") === 0 ? true : undefined),
      30_000,
      "queue drained",
    );
  });
});
