/**
 * End-to-end batch: CreateBatch → COMPLETED through real API and render-worker processes on
 * local PostgreSQL and Redis, against the same batch rendered one Chromium print per ticket
 * (BATCH_SIZE=1) in the same run; then DownloadBatchPdf of the whole batch with the API's
 * peak memory.
 *
 *   node_modules/.bin/tsx bench/batch.ts [--guests 1000] [--baseline-guests 300]
 *
 * Needs PostgreSQL (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; a
 * scratch database is created and dropped) and Redis (REDIS_URL, default local).
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BatchService, BatchStatus, CreateBatchRequestSchema } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { emit } from "./support/report.ts";
import { memoryMb, resetPeak, scratchDatabase, startStack, treePssMb } from "./support/stack.ts";

const { values } = parseArgs({
  options: { guests: { type: "string", default: "1000" }, "baseline-guests": { type: "string", default: "300" } },
});
const GUESTS = Number(values.guests);
const BASELINE_GUESTS = Number(values["baseline-guests"]);
interface Run {
  name: string;
  guests: number;
  totalMs: number;
  firstTicketMs: number;
  apiPid: number;
  workerPeakMb: number;
  workerPssMb: number;
  workerPssByKind: Record<string, { mb: number; processes: number }>;
  client: ReturnType<typeof createClient<typeof BatchService>>;
  batchId: string;
  stop(): Promise<void>;
}

async function run(name: string, guests: number, batchSize: number, databaseUrl: string): Promise<Run> {
  const stack = await startStack(databaseUrl, { env: { BATCH_SIZE: String(batchSize) } });
  const client = createClient(BatchService, createGrpcTransport({ baseUrl: stack.baseUrl }));
  const worker = stack.worker!;
  // Peak of the whole tree, and what each kind of process held at that moment.
  let workerPssMb = 0;
  let workerPssByKind: Record<string, { mb: number; processes: number }> = {};
  const sampler = setInterval(() => {
    const byKind = treePssMb(worker.pid!);
    const total = Object.values(byKind).reduce((sum, { mb }) => sum + mb, 0);
    if (total > workerPssMb) [workerPssMb, workerPssByKind] = [total, byKind];
  }, 250);
  const startsAt = new Date(Date.now() + 30 * 86_400_000);
  const request = create(CreateBatchRequestSchema, {
    event: {
      id: `bench-${randomBytes(4).toString("hex")}`,
      name: "Benchmark Gala",
      startsAt: timestampFromDate(startsAt),
      location: "Paris",
      timezone: "Europe/Paris",
    },
    ticketType: { id: "std", name: "Standard" },
    locale: "fr",
    guests: Array.from({ length: guests }, (_, i) => ({
      id: `g${i}`,
      firstName: "Guest",
      lastName: `Number ${i}`,
      email: `g${i}@example.com`,
    })),
  });
  const started = performance.now();
  const { batch } = await client.createBatch(request);
  let firstTicketMs = 0;
  let last = batch!;
  for await (const { batch: update } of client.watchBatch({ id: batch!.id })) {
    if (!firstTicketMs && update!.completedCount > 0) firstTicketMs = performance.now() - started;
    last = update!;
  }
  const totalMs = performance.now() - started;
  clearInterval(sampler);
  if (last.status !== BatchStatus.COMPLETED || last.completedCount !== guests)
    throw new Error(`${name}: batch ended ${BatchStatus[last.status]} with ${last.completedCount}/${guests}`);
  const workerPeakMb = memoryMb(worker.pid!).peak;
  return {
    name,
    guests,
    totalMs,
    firstTicketMs,
    apiPid: stack.api.pid!,
    workerPeakMb,
    workerPssMb,
    workerPssByKind,
    client,
    batchId: batch!.id,
    stop: () => stack.stop(),
  };
}

async function main() {
  const database = await scratchDatabase();
  try {
    const baseline = await run("one Chromium print per ticket (BATCH_SIZE=1)", BASELINE_GUESTS, 1, database.url);
    await baseline.stop();
    const chunked = await run("ticketgen: 100 tickets per print, split (BATCH_SIZE=100)", GUESTS, 100, database.url);

    const createPeak = memoryMb(chunked.apiPid).peak;
    // Linux: writing 5 to clear_refs resets VmHWM, so the next peak is the download's own.
    resetPeak(chunked.apiPid);
    const before = memoryMb(chunked.apiPid);
    let bytes = 0;
    const downloadStarted = performance.now();
    for await (const { chunk } of chunked.client.downloadBatchPdf({ id: chunked.batchId })) bytes += chunk.length;
    const downloadMs = performance.now() - downloadStarted;
    const after = memoryMb(chunked.apiPid);
    await chunked.stop();

    const rate = (r: Run) => r.guests / (r.totalMs / 1000);
    console.log(`End-to-end batch benchmark — one API and one render worker process (QUEUE_CONCURRENCY=2), ${new Date().toISOString()}`);
    console.log();
    console.log(
      "| CreateBatch → COMPLETED | guests | total | tickets/s | time to first ticket | worker peak RSS (node) | worker peak PSS with Chromium | vs one print per ticket |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of [chunked, baseline]) {
      const ratio = r === baseline ? "baseline" : `${(rate(r) / rate(baseline)).toFixed(1)}× the throughput`;
      console.log(
        `| ${r.name} | ${r.guests} | ${(r.totalMs / 1000).toFixed(1)} s | ${rate(r).toFixed(1)} | ${(r.firstTicketMs / 1000).toFixed(2)} s | ${r.workerPeakMb.toFixed(0)} MB | ${r.workerPssMb.toFixed(0)} MB | ${ratio} |`,
      );
    }
    console.log();
    console.log("| DownloadBatchPdf (streamed, one chunk document at a time) | value |");
    console.log("|---|---:|");
    console.log(`| tickets in the PDF | ${chunked.guests} |`);
    console.log(`| PDF size | ${(bytes / 2 ** 20).toFixed(1)} MB |`);
    console.log(`| time | ${(downloadMs / 1000).toFixed(1)} s |`);
    console.log(`| API RSS before the download | ${before.rss.toFixed(0)} MB |`);
    console.log(`| API peak RSS during the download (VmHWM reset before it) | ${after.peak.toFixed(0)} MB |`);
    console.log(`| API peak RSS up to then (CreateBatch of ${chunked.guests} guests, results) | ${createPeak.toFixed(0)} MB |`);
    console.log();
    const breakdown = Object.entries(chunked.workerPssByKind)
      .sort((a, b) => b[1].mb - a[1].mb)
      .map(([kind, { mb, processes }]) => `${kind}${processes > 1 ? ` (${processes} processes)` : ""} ${mb.toFixed(0)} MB`)
      .join(", ");
    console.log(`Worker PSS at its peak, by process: ${breakdown}.`);
    console.log();
    const scenario = `batch-${chunked.guests}`;
    emit([
      {
        scenario,
        name: "end-to-end throughput",
        unit: "tickets/s",
        value: rate(chunked),
        baseline: { name: baseline.name, value: rate(baseline) },
        ratio: rate(chunked) / rate(baseline),
      },
      { scenario, name: "end-to-end time", unit: "s", value: chunked.totalMs / 1000 },
      { scenario, name: "time to first ticket", unit: "s", value: chunked.firstTicketMs / 1000 },
      { scenario, name: "worker peak PSS incl. Chromium", unit: "MB", value: chunked.workerPssMb },
      { scenario, name: "API peak RSS during DownloadBatchPdf", unit: "MB", value: after.peak },
      { scenario, name: "batch PDF size", unit: "MB", value: bytes / 2 ** 20 },
    ]);
    console.log(
      "The baseline renders fewer guests (--baseline-guests) since it is ~20× slower; throughput is per guest either way. Worker RSS excludes Chromium's own processes.",
    );
  } finally {
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
