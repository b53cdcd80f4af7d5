import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { TicketRow } from "../db/schema.ts";
import type { FinishedCall } from "../pipeline/call-observer.ts";
import type { EventType } from "../webhooks/webhook-events.ts";
import type { WebhookOutcome } from "../webhooks/webhook-notifier.ts";

export interface QueueCounts {
  /** Render jobs not finished yet. */
  render(): Promise<number>;
  /** Render results the workers reported that the API has not applied yet. */
  results(): Promise<number>;
}

/** The seed's metrics (names and labels other dashboards rely on) plus the gRPC server's. */
export class ApiMetrics {
  readonly ticketsGenerated: Counter<"event_id" | "template_id" | "status">;
  readonly generationDuration: Histogram;
  readonly batchJobs: Counter<"status">;
  readonly queueSize: Gauge;
  readonly grpcHandled: Counter<"method" | "code">;
  readonly grpcDuration: Histogram<"method">;
  readonly resultsLag: Histogram;
  readonly webhookDeliveries: Counter<"event" | "outcome">;
  readonly webhookDuration: Histogram;

  constructor(registry: Registry, queues: QueueCounts) {
    this.ticketsGenerated = new Counter({
      name: "tickets_generated_total",
      help: "Tickets whose rendering finished, by event, template and outcome (generated or failed).",
      labelNames: ["event_id", "template_id", "status"],
      registers: [registry],
    });
    // No event_id here: a histogram per event would multiply its buckets by every event ever sold.
    this.generationDuration = new Histogram({
      name: "ticket_generation_duration_seconds",
      help: "From CreateTicket / CreateBatch storing the ticket to its PDF being stored.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    });
    this.batchJobs = new Counter({
      name: "batch_jobs_total",
      help: "Batches that ended, by final status.",
      labelNames: ["status"],
      registers: [registry],
    });
    this.queueSize = new Gauge({
      name: "ticket_generation_queue_size",
      help: "Render jobs waiting, prioritized, delayed or running (what KEDA scales workers on).",
      registers: [registry],
      async collect() {
        this.set(await queues.render().catch(() => Number.NaN));
      },
    });
    new Gauge({
      name: "render_results_queue_size",
      help: "Render outcomes reported by workers and not yet applied by the API (waiting, retrying or being applied).",
      registers: [registry],
      async collect() {
        this.set(await queues.results().catch(() => Number.NaN));
      },
    });
    this.resultsLag = new Histogram({
      name: "render_results_lag_seconds",
      help: "From a worker reporting a render outcome to the API having stored it: how far the results consumer is behind.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.webhookDeliveries = new Counter({
      name: "webhook_deliveries_total",
      help: "Webhook delivery attempts to the core service, by event type and outcome (delivered, http_error, network_error, gave_up).",
      labelNames: ["event", "outcome"],
      registers: [registry],
    });
    this.webhookDuration = new Histogram({
      name: "webhook_delivery_duration_seconds",
      help: "Time of one webhook delivery attempt, until the core service answered or the request failed.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.grpcHandled = new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed, by method and gRPC code.",
      labelNames: ["method", "code"],
      registers: [registry],
    });
    this.grpcDuration = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "RPC latency (streams: until the stream ends), by method.",
      labelNames: ["method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
      registers: [registry],
    });
  }

  ticketsFinished(rows: readonly TicketRow[]): void {
    for (const row of rows) {
      const status = row.status === "GENERATED" ? "generated" : "failed";
      this.ticketsGenerated.inc({ event_id: row.eventId, template_id: row.templateId || "builtin", status });
      if (row.generatedAt) this.generationDuration.observe((row.generatedAt.getTime() - row.createdAt.getTime()) / 1000);
    }
  }

  webhookAttempt(event: EventType, outcome: WebhookOutcome, seconds: number): void {
    this.webhookDeliveries.inc({ event, outcome });
    this.webhookDuration.observe(seconds);
  }

  // Per method (and code): prom-client hashes a label set on every inc or observe, its children once.
  private readonly handledBy = new Map<string, Counter.Internal>();
  private readonly durationOf = new Map<string, Histogram.Internal<"method">>();

  /** Counts an RPC by method and code, with its duration (a stream's until it ends). */
  recordCall({ method, code, seconds }: FinishedCall): void {
    const key = `${method} ${code}`;
    let handled = this.handledBy.get(key);
    if (!handled) this.handledBy.set(key, (handled = this.grpcHandled.labels({ method, code })));
    handled.inc();
    let duration = this.durationOf.get(method);
    if (!duration) this.durationOf.set(method, (duration = this.grpcDuration.labels({ method })));
    duration.observe(seconds);
  }
}
