import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest, ticketRequest } from "./requests.ts";

/** Answers a retry cannot change: the caller stops and reports the error. */
const FINAL_CODES = new Set([Code.InvalidArgument, Code.AlreadyExists, Code.PermissionDenied, Code.Unauthenticated, Code.NotFound]);
const CALL_TIMEOUT_MS = 5_000;
const RETRY_DELAY_MS = 500;

/** One caller's idempotency key and how its calls ended. */
export interface CallOutcome {
  key: string;
  attempts: number;
  /** The id the caller was finally given, or the error it finally got. */
  id?: string;
  error?: string;
}

export interface WorkloadOptions {
  batchGuests: number;
  /** A new CreateTicket caller starts this often. */
  singleIntervalMs: number;
  /** A caller retrying on the same key gives up after this long. */
  giveUpMs: number;
  /** How many of the event's stored single tickets are still PENDING (read past the faults). */
  unrenderedSingles: (eventId: string) => Promise<number>;
}

/**
 * A new single caller starts only while fewer of its tickets than this wait for a render. Single
 * tickets outrank batch chunks, so singles arriving faster than a slow or busy worker renders them
 * would hold the batch back for good; with at most one waiting, one of the worker's two slots
 * (QUEUE_CONCURRENCY) stays free for the batch's chunks.
 */
const MAX_UNRENDERED_SINGLES = 1;

/**
 * What a well-behaved platform service does: a stream of single tickets and one multi-chunk
 * batch, every call retried on the same idempotency key until it is answered or the caller
 * gives up. It records what each caller was finally told, for the checks to hold the stored
 * state against.
 */
export class Workload {
  readonly singles: CallOutcome[] = [];
  readonly batch: CallOutcome;
  readonly eventId = `faults-${randomUUID()}`;
  private readonly tickets: Client<typeof TicketService>;
  private readonly batches: Client<typeof BatchService>;
  private readonly inFlight = new Set<Promise<void>>();
  private stream: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    apiUrl: string,
    private readonly options: WorkloadOptions,
  ) {
    const transport = createGrpcTransport({ baseUrl: apiUrl });
    this.tickets = createClient(TicketService, transport);
    this.batches = createClient(BatchService, transport);
    this.batch = { key: `batch-${randomUUID()}`, attempts: 0 };
  }

  startStream(): void {
    this.stream = setInterval(() => void this.maybeStartSingle(), this.options.singleIntervalMs);
  }

  private async maybeStartSingle(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      if ((await this.options.unrenderedSingles(this.eventId)) >= MAX_UNRENDERED_SINGLES) return;
    } finally {
      this.probing = false;
    }
    if (this.stream === undefined) return;
    const outcome: CallOutcome = { key: `single-${randomUUID()}`, attempts: 0 };
    this.singles.push(outcome);
    const request = ticketRequest(outcome.key, this.eventId);
    this.track(this.call(outcome, async () => (await this.tickets.createTicket(request, { timeoutMs: CALL_TIMEOUT_MS })).ticket!.id));
  }

  /** Creates the batch, retrying on its key; resolves once the caller has its answer. */
  createBatch(): Promise<void> {
    const request = batchRequest(this.options.batchGuests, this.batch.key, this.eventId);
    // A large batch takes longer to store than one ticket.
    return this.call(this.batch, async () => (await this.batches.createBatch(request, { timeoutMs: 4 * CALL_TIMEOUT_MS })).batch!.id);
  }

  /** Stops starting callers and waits for the ones still retrying. */
  async stop(): Promise<void> {
    clearInterval(this.stream);
    this.stream = undefined;
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private track(call: Promise<void>): void {
    this.inFlight.add(call);
    void call.finally(() => this.inFlight.delete(call));
  }

  private async call(outcome: CallOutcome, attempt: () => Promise<string>): Promise<void> {
    const started = Date.now();
    for (;;) {
      outcome.attempts++;
      try {
        outcome.id = await attempt();
        outcome.error = undefined;
        return;
      } catch (error) {
        const connectError = ConnectError.from(error);
        outcome.error = `${Code[connectError.code]}: ${connectError.rawMessage}`;
        if (FINAL_CODES.has(connectError.code) || Date.now() - started > this.options.giveUpMs) return;
      }
      await sleep(RETRY_DELAY_MS);
    }
  }
}
