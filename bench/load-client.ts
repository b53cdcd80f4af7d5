/**
 * The load generator of bench/load.ts, run as a process of its own (so its CPU is not the
 * API's, and /proc tells them apart): `node --import tsx bench/load-client.ts` reads one JSON
 * `LoadConfig` on stdin, opens `connections` HTTP/2 connections to the API (gRPC framed by
 * hand, support/grpc-h2.ts, so that the generator's own CPU stays small; calls spread
 * round-robin over the connections) and drives one RPC in one of three modes:
 *
 * - `closed`: a fixed number of calls in flight; each finished call starts the next one. The
 *   rate is whatever the server sustains. Recorded: calls that complete inside the window.
 * - `open`: calls issued on a fixed schedule (`rate` per second) whether or not earlier ones
 *   have answered; latency counts from the *scheduled* time, so a server that falls behind
 *   shows it (no coordinated omission). Recorded: every scheduled call. Should `maxBacklog`
 *   calls be in flight at once, the rate is not sustained: the schedule stops there
 *   (`fellBehindAfterMs`) rather than pile up calls without end.
 * - `burst`: `inFlight` calls issued at once, all awaited, for a number of rounds; latency
 *   counts from the round's start.
 *
 * A warm-up, not recorded, comes first: the same load (closed), 8 calls in flight (open), or
 * bursts (burst). Every call's latency (process.hrtime) and outcome are recorded, every
 * answer decoded; the outcome is the gRPC code name, with ValidateTicket's verdict
 * appended (`OK/VALID`). Anything but the expected outcome is an error.
 *
 * stdout: `{"type":"measure-start"}` and `{"type":"measure-end"}` when the recorded window
 * opens and closes (the parent samples CPU and memory then), then one `{"type":"summary",…}`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  CreateTicketRequestSchema,
  CreateTicketResponseSchema,
  GetTicketRequestSchema,
  TicketService,
  ValidateTicketRequestSchema,
  ValidateTicketResponseSchema,
  ValidationResult,
} from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "@ticketgen/shared/gen/health/v1/health_pb";
import { GrpcH2Connection, grpcFrame } from "./support/grpc-h2.ts";

/** HealthCheck: the floor, an answer from the same server stack with no database and no validation. */
export type LoadMethod = "CreateTicket" | "ValidateTicket" | "GetTicketUnknown" | "HealthCheck";

export type LoadMode =
  | { kind: "closed"; concurrency: number; warmupMs: number; durationMs: number }
  | { kind: "open"; rate: number; warmupMs: number; durationMs: number; maxBacklog: number }
  | { kind: "burst"; inFlight: number; warmupRounds: number; rounds: number };

export interface LoadConfig {
  /** One URL per API process; connections are spread over them round-robin, as a balancer would. */
  baseUrls: string[];
  connections: number;
  method: LoadMethod;
  mode: LoadMode;
  /** ValidateTicket: real tickets' QR payloads, validated round-robin (never redeemed). */
  tickets?: Array<{ qrPayload: string; eventId: string }>;
  /** CreateTicket: how many distinct events the tickets are spread over. */
  events?: number;
  /** Per-call deadline; a call that exceeds it counts as DEADLINE_EXCEEDED. */
  callTimeoutMs: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadSummary {
  type: "summary";
  method: LoadMethod;
  mode: LoadMode;
  expected: string;
  /** Recorded calls (inside the window). */
  calls: number;
  errors: number;
  /** Outcome → count, recorded calls only. */
  outcomes: Record<string, number>;
  windowMs: number;
  callsPerSecond: number;
  /** Closed and burst: from send to answer; open: from the scheduled time to answer. */
  latencyMs: Percentiles;
  /** Open loop only: from the actual send to the answer (what the server and network took). */
  serviceMs?: Percentiles;
  /** Open loop: most calls in flight at once; burst: the burst size; closed: the concurrency. */
  maxInFlight: number;
  /** Open loop: the schedule was abandoned this long after it started, `maxBacklog` calls behind. */
  fellBehindAfterMs?: number;
  /** Calls (recorded or not) per connection: proof that the load was spread. */
  perConnection: number[];
  clientCpuMs: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentiles(samples: number[]): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  let sum = 0;
  for (const x of sorted) sum += x;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN, mean: sum / sorted.length };
}

type Call = (seq: number, connection: GrpcH2Connection, timeoutMs: number) => Promise<string>;

const path = (method: string) => `/${TicketService.typeName}/${method}`;

/** One call of the method under test, resolved with its outcome (never rejects). */
function caller(config: LoadConfig): { call: Call; expected: string } {
  switch (config.method) {
    case "CreateTicket": {
      const run = randomBytes(4).toString("hex");
      const startsAt = timestampFromDate(new Date(Date.now() + 30 * 86_400_000));
      const endsAt = timestampFromDate(new Date(Date.now() + 30 * 86_400_000 + 6 * 3_600_000));
      const events = Array.from({ length: config.events ?? 4 }, (_, k) => ({
        id: `load-${run}-e${k}`,
        name: `Load Test Gala ${k}`,
        startsAt,
        endsAt,
        location: "Salle Pleyel, Paris",
        timezone: "Europe/Paris",
      }));
      const ticketType = { id: "std", name: "Standard" };
      return {
        expected: "OK",
        call: async (seq, connection, timeoutMs) => {
          const request = create(CreateTicketRequestSchema, {
            event: events[seq % events.length],
            guest: { id: `g-${run}-${seq}`, firstName: "Guest", lastName: `Number ${seq}`, email: `g${seq}.${run}@example.com` },
            ticketType,
            locale: "fr",
          });
          const { code, message } = await connection.unary(
            path("CreateTicket"),
            grpcFrame(toBinary(CreateTicketRequestSchema, request)),
            timeoutMs,
          );
          if (code !== "OK") return code;
          return message && fromBinary(CreateTicketResponseSchema, message).ticket?.id ? "OK" : "OK/EMPTY";
        },
      };
    }
    case "ValidateTicket": {
      const tickets = config.tickets ?? [];
      if (tickets.length === 0) throw new Error("ValidateTicket needs tickets");
      // The same requests are sent over and over: encode each once.
      const frames = tickets.map((ticket) =>
        grpcFrame(
          toBinary(
            ValidateTicketRequestSchema,
            create(ValidateTicketRequestSchema, {
              credential: { case: "qrPayload", value: ticket.qrPayload },
              eventId: ticket.eventId,
              redeem: false,
            }),
          ),
        ),
      );
      return {
        expected: "OK/VALID",
        call: async (seq, connection, timeoutMs) => {
          const { code, message } = await connection.unary(path("ValidateTicket"), frames[seq % frames.length]!, timeoutMs);
          if (code !== "OK") return code;
          const result = message ? fromBinary(ValidateTicketResponseSchema, message).result : undefined;
          return `OK/${result === undefined ? "EMPTY" : (ValidationResult[result] ?? result)}`;
        },
      };
    }
    case "HealthCheck": {
      const frame = grpcFrame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" })));
      return {
        expected: "OK/SERVING",
        call: async (_seq, connection, timeoutMs) => {
          const { code, message } = await connection.unary(`/${Health.typeName}/Check`, frame, timeoutMs);
          if (code !== "OK") return code;
          const status = message ? fromBinary(HealthCheckResponseSchema, message).status : undefined;
          return `OK/${status === undefined ? "EMPTY" : HealthCheckResponse_ServingStatus[status]}`;
        },
      };
    }
    case "GetTicketUnknown":
      return {
        expected: "NOT_FOUND",
        call: async (_seq, connection, timeoutMs) => {
          const request = create(GetTicketRequestSchema, { lookup: { case: "id", value: randomUUID() } });
          return (await connection.unary(path("GetTicket"), grpcFrame(toBinary(GetTicketRequestSchema, request)), timeoutMs)).code;
        },
      };
  }
}

const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function main(): Promise<void> {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const config = JSON.parse(input) as LoadConfig;
  const { mode } = config;
  const clients = Array.from({ length: config.connections }, (_, i) => new GrpcH2Connection(config.baseUrls[i % config.baseUrls.length]!));
  const perConnection = clients.map(() => 0);
  const { call, expected } = caller(config);
  let seq = 0;
  /** Issues the next call on the next connection. */
  const next = () => {
    const n = seq++;
    const connection = n % clients.length;
    perConnection[connection]!++;
    return call(n, clients[connection]!, config.callTimeoutMs);
  };

  const latencies: number[] = [];
  const service: number[] = [];
  const outcomes: Record<string, number> = {};
  const record = (ms: number, outcome: string) => {
    latencies.push(ms);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };
  let cpuAtStart = process.cpuUsage();
  let windowStart = 0;
  let windowEnd = 0;
  const open = () => {
    windowStart = now();
    cpuAtStart = process.cpuUsage();
    say({ type: "measure-start" });
  };
  const close = (at = now()) => {
    windowEnd = at;
    say({ type: "measure-end" });
  };
  let maxInFlight = 0;
  let fellBehindAfterMs: number | undefined;
  let cpuMs = 0;
  const cpuSinceStart = () => {
    const { user, system } = process.cpuUsage(cpuAtStart);
    return (user + system) / 1000;
  };

  /** Closed loop: `concurrency` callers until `until`; records calls completing in [from, until]. */
  const closedLoop = (concurrency: number, until: number, from = Number.POSITIVE_INFINITY) =>
    Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (now() < until) {
          const sent = now();
          const outcome = await next();
          const done = now();
          if (done >= from && done <= until) record(done - sent, outcome);
        }
      }),
    );

  if (mode.kind === "closed") {
    const warmEnd = now() + mode.warmupMs;
    const end = warmEnd + mode.durationMs;
    const opener = setTimeout(open, mode.warmupMs);
    const closer = setTimeout(() => {
      close();
      cpuMs = cpuSinceStart();
    }, mode.warmupMs + mode.durationMs);
    maxInFlight = mode.concurrency;
    await closedLoop(mode.concurrency, end, warmEnd);
    clearTimeout(opener);
    clearTimeout(closer);
    if (!windowEnd) {
      close();
      cpuMs = cpuSinceStart();
    }
    windowStart = warmEnd;
    windowEnd = end;
  } else if (mode.kind === "open") {
    // Warm-up (this process's JIT, the connections) at a modest fixed concurrency, so that a
    // rate the server cannot hold does not start the recorded schedule with a backlog.
    await closedLoop(8, now() + mode.warmupMs);
    const interval = 1000 / mode.rate;
    const t0 = now() + 1;
    const end = t0 + mode.durationMs;
    const pending = new Set<Promise<void>>();
    let k = 0;
    let lastDone = t0;
    open();
    for (;;) {
      const t = now();
      // Issue every call whose time has come (several per timer tick at high rates).
      while (t0 + k * interval <= t && t0 + k * interval < end && pending.size < mode.maxBacklog) {
        const scheduled = t0 + k * interval;
        k++;
        const sent = now();
        const p: Promise<void> = next().then((outcome) => {
          const done = now();
          pending.delete(p);
          record(done - scheduled, outcome);
          service.push(done - sent);
          lastDone = Math.max(lastDone, done);
        });
        pending.add(p);
        maxInFlight = Math.max(maxInFlight, pending.size);
      }
      if (pending.size >= mode.maxBacklog) {
        // The server has fallen a whole backlog behind the schedule: the rate is not
        // sustained, and every later call would only add to an ever-growing delay.
        fellBehindAfterMs = now() - t0;
        break;
      }
      if (t0 + k * interval >= end) break;
      await sleep(Math.max(0, Math.min(1, t0 + k * interval - now())));
    }
    const issuedUntil = now();
    await Promise.all(pending);
    close(Math.min(end, issuedUntil));
    cpuMs = cpuSinceStart();
    windowStart = t0;
    // The calls issued, over the time it took to answer them all.
    windowEnd = Math.max(Math.min(end, issuedUntil), lastDone);
  } else {
    const burst = async (recorded: boolean) => {
      const started = now();
      await Promise.all(
        Array.from({ length: mode.inFlight }, async () => {
          const outcome = await next();
          if (recorded) record(now() - started, outcome);
        }),
      );
    };
    for (let r = 0; r < mode.warmupRounds; r++) await burst(false);
    open();
    for (let r = 0; r < mode.rounds; r++) await burst(true);
    close();
    cpuMs = cpuSinceStart();
    maxInFlight = mode.inFlight;
  }

  const calls = latencies.length;
  const windowMs = windowEnd - windowStart;
  const summary: LoadSummary = {
    type: "summary",
    method: config.method,
    mode,
    expected,
    calls,
    errors: calls - (outcomes[expected] ?? 0),
    outcomes,
    windowMs,
    callsPerSecond: calls / (windowMs / 1000),
    latencyMs: percentiles(latencies),
    ...(service.length ? { serviceMs: percentiles(service) } : {}),
    maxInFlight,
    ...(fellBehindAfterMs === undefined ? {} : { fellBehindAfterMs }),
    perConnection,
    clientCpuMs: cpuMs,
  };
  say(summary);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
