/**
 * `pnpm soak [--minutes N] [--warmup-minutes N]`: one API and one render worker (their bundles)
 * under a fixed mixed load: CreateTicket, ValidateTicket and GetTicket at fixed rates and a
 * small batch now and then, open loop (calls start on schedule whether or not earlier ones
 * have answered). Samples the resident memory of the API, the worker and its Chromium from
 * /proc (Chromium as the sum of its processes' PSS, since they share pages), and reports the RSS slope after the warm-up (MB per minute), unexpected errors (the
 * goal is none) and p99 latency per minute. Exits 1 on any unexpected error.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketService, ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { buildServices } from "../scripts/build.ts";
import { machine } from "./report.ts";
import { chromiumUnder, pssMb, rssMb } from "./support/proc.ts";
import { batchRequest, ticketRequest } from "./support/requests.ts";
import { FaultStack } from "./support/stack.ts";

/**
 * Calls a second of each kind; a batch of BATCH_GUESTS every BATCH_EVERY_S seconds. Six tickets
 * a second is what one worker renders with room to spare on 2 shared cores: a soak measures a
 * steady state, not a backlog that grows.
 */
const RATES = { CreateTicket: 4, ValidateTicket: 20, GetTicket: 20 } as const;
const BATCH_GUESTS = 20;
const BATCH_EVERY_S = 10;
const TICK_MS = 100;
const SAMPLE_MS = 5_000;
const CALL_TIMEOUT_MS = 10_000;

const { values } = parseArgs({ options: { minutes: { type: "string", default: "10" }, "warmup-minutes": { type: "string" } } });
const minutes = Number(values.minutes);
const warmupMinutes = values["warmup-minutes"] === undefined ? Math.min(2, minutes / 3) : Number(values["warmup-minutes"]);
if (!(minutes > 0) || !(warmupMinutes >= 0) || warmupMinutes >= minutes) {
  process.stderr.write("usage: pnpm soak [--minutes N] [--warmup-minutes M], 0 <= M < N\n");
  process.exit(2);
}

type Method = keyof typeof RATES | "CreateBatch";
interface Sample {
  atMin: number;
  api: number;
  worker: number;
  chromium: number;
}

await buildServices();
const stack = await FaultStack.start({ batchSize: 100, direct: true });
const transport = createGrpcTransport({ baseUrl: stack.apiUrl });
const tickets = createClient(TicketService, transport);
const batches = createClient(BatchService, transport);
const eventId = `soak-${randomUUID()}`;
const issued: Array<{ id: string; qrPayload: string }> = [];
/** Latencies (ms) of each minute's calls, and the unexpected errors by method and code. */
const latencies: number[][] = [];
const errors = new Map<string, number>();
const samples: Sample[] = [];
const started = Date.now();
const minuteNow = () => Math.floor((Date.now() - started) / 60_000);
const inFlight = new Set<Promise<void>>();

function record(method: Method, call: () => Promise<unknown>): void {
  const t0 = performance.now();
  // Counted in the minute the call was started in.
  const minute = minuteNow();
  const done = call().then(
    () => void (latencies[minute] ??= []).push(performance.now() - t0),
    (error: unknown) => {
      const key = `${method} ${ConnectError.from(error).code}: ${ConnectError.from(error).rawMessage.slice(0, 80)}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    },
  );
  inFlight.add(done);
  void done.finally(() => inFlight.delete(done));
}

const pick = () => issued[Math.floor(Math.random() * issued.length)];
// Fractions of a call carried from tick to tick, so each rate holds exactly over a second.
const owed: Record<keyof typeof RATES, number> = { CreateTicket: 0, ValidateTicket: 0, GetTicket: 0 };
let tick = 0;
const endAt = started + minutes * 60_000;

const sampler = setInterval(() => {
  const chromium = stack.worker.pid ? chromiumUnder(stack.worker.pid) : { browsers: [], helpers: [] };
  samples.push({
    atMin: (Date.now() - started) / 60_000,
    api: rssMb(stack.api.pid ?? 0) ?? 0,
    worker: rssMb(stack.worker.pid ?? 0) ?? 0,
    chromium: [...chromium.browsers, ...chromium.helpers].reduce((sum, p) => sum + (pssMb(p.pid) ?? 0), 0),
  });
}, SAMPLE_MS);

while (Date.now() < endAt) {
  for (const method of Object.keys(RATES) as Array<keyof typeof RATES>) {
    owed[method] += (RATES[method] * TICK_MS) / 1000;
    for (; owed[method] >= 1; owed[method]--) {
      const ticket = pick();
      if (method === "CreateTicket") {
        record(method, async () => {
          const created = (await tickets.createTicket(ticketRequest(randomUUID(), eventId), { timeoutMs: CALL_TIMEOUT_MS })).ticket!;
          issued.push({ id: created.id, qrPayload: created.qrPayload });
        });
      } else if (method === "ValidateTicket" && ticket) {
        record(method, async () => {
          const { result } = await tickets.validateTicket(
            { credential: { case: "qrPayload", value: ticket.qrPayload } },
            { timeoutMs: CALL_TIMEOUT_MS },
          );
          if (result !== ValidationResult.VALID) throw new ConnectError(`verdict ${ValidationResult[result]}`);
        });
      } else if (method === "GetTicket" && ticket) {
        record(method, () => tickets.getTicket({ lookup: { case: "id", value: ticket.id } }, { timeoutMs: CALL_TIMEOUT_MS }));
      }
    }
  }
  if (tick % ((BATCH_EVERY_S * 1000) / TICK_MS) === 0) {
    record("CreateBatch", () => batches.createBatch(batchRequest(BATCH_GUESTS, randomUUID(), eventId), { timeoutMs: CALL_TIMEOUT_MS }));
  }
  tick++;
  await sleep(started + tick * TICK_MS - Date.now());
}
clearInterval(sampler);
while (inFlight.size > 0) await Promise.all(inFlight);
const [unrendered] = await stack.sql<Array<{ n: number }>>`
  select count(*)::int as n from tickets where event_id = ${eventId} and status <> 'GENERATED' and created_at < now() - interval '30 seconds'`;
const exits = await stack.stop();

/** Least-squares slope of RSS against time after the warm-up, MB per minute. */
function slope(kind: "api" | "worker" | "chromium"): number {
  const points = samples.filter((s) => s.atMin >= warmupMinutes);
  const n = points.length;
  const mx = points.reduce((a, s) => a + s.atMin, 0) / n;
  const my = points.reduce((a, s) => a + s[kind], 0) / n;
  const sxy = points.reduce((a, s) => a + (s.atMin - mx) * (s[kind] - my), 0);
  const sxx = points.reduce((a, s) => a + (s.atMin - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}
const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(values.length * 0.99) - 1)] ?? 0;
const lastSampleOf = (minute: number) => samples.filter((s) => Math.floor(s.atMin) === minute).at(-1);
const unexpected = [...errors.values()].reduce((a, b) => a + b, 0);

const rows = latencies.map((values, minute) => {
  const sample = lastSampleOf(minute);
  return `| ${minute + 1} | ${values.length} | ${p99(values).toFixed(1)} | ${sample?.api.toFixed(0) ?? "–"} | ${sample?.worker.toFixed(0) ?? "–"} | ${sample?.chromium.toFixed(0) ?? "–"} |`;
});
process.stdout
  .write(`Machine: ${machine()}. Soak: ${minutes} min (${warmupMinutes} min warm-up), per second ${RATES.CreateTicket} CreateTicket, ${RATES.ValidateTicket} ValidateTicket, ${RATES.GetTicket} GetTicket, and a ${BATCH_GUESTS}-guest batch every ${BATCH_EVERY_S} s.

| minute | calls answered | p99 ms | API RSS MB | worker RSS MB | Chromium PSS MB |
|---|---|---|---|---|---|
${rows.join("\n")}

Memory slope after warm-up (MB/min): API RSS ${slope("api").toFixed(2)}, worker RSS ${slope("worker").toFixed(2)}, Chromium PSS ${slope("chromium").toFixed(2)}
Unexpected errors: ${unexpected}${[...errors].map(([key, n]) => `\n  ${n} × ${key}`).join("")}
Tickets older than 30 s not GENERATED at the end: ${unrendered!.n}
Services stopped: api exit ${exits.api}, worker exit ${exits.worker}
`);
process.exit(unexpected > 0 || unrendered!.n > 0 ? 1 : 0);
