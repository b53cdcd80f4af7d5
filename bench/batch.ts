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
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import postgres from "postgres";
import { BatchService, BatchStatus, CreateBatchRequestSchema } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";

const { values } = parseArgs({ options: { guests: { type: "string", default: "1000" }, "baseline-guests": { type: "string", default: "300" } } });
const GUESTS = Number(values.guests);
const BASELINE_GUESTS = Number(values["baseline-guests"]);
const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Peak and current resident memory of a process and its children (Chromium), from /proc. */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = (p: number) => readFileSync(`/proc/${p}/status`, "utf8");
  const field = (text: string, name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
  const text = status(pid);
  return { rss: field(text, "VmRSS"), peak: field(text, "VmHWM") };
}

function start(entry: string, env: Record<string, string>): ChildProcess {
  // node --import tsx: one process, so /proc/<pid> is the service itself.
  return spawn(process.execPath, ["--import", "tsx", entry], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
}

async function listening(child: ChildProcess): Promise<number> {
  let output = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      const port = /"port":(\d+)/.exec(output)?.[1];
      if (port) resolve(Number(port));
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
}

const stop = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM"))));

interface Run {
  name: string;
  guests: number;
  totalMs: number;
  firstTicketMs: number;
  apiPid: number;
  workerPeakMb: number;
  client: ReturnType<typeof createClient<typeof BatchService>>;
  batchId: string;
  stop(): Promise<void>;
}

async function run(name: string, guests: number, batchSize: number, databaseUrl: string): Promise<Run> {
  const blobDir = mkdtempSync(join(tmpdir(), "ticketgen-bench-"));
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `tgbench-${randomBytes(4).toString("hex")}`,
    BLOB_DIR: blobDir,
    QR_SIGNATURE_SECRET: "bench secret: 32 bytes or more, not a real one!!",
    BATCH_SIZE: String(batchSize),
    PORT: "0",
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
  };
  const api = start("packages/api/src/main.ts", env);
  const worker = start("packages/render-worker/src/main.ts", { ...env, LOG_LEVEL: "warn" });
  const port = await listening(api);
  const client = createClient(BatchService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
  await new Promise((r) => setTimeout(r, 1500)); // the worker's Chromium is up
  const startsAt = new Date(Date.now() + 30 * 86_400_000);
  const request = create(CreateBatchRequestSchema, {
    event: { id: `bench-${randomBytes(4).toString("hex")}`, name: "Benchmark Gala", startsAt: timestampFromDate(startsAt), location: "Paris", timezone: "Europe/Paris" },
    ticketType: { id: "std", name: "Standard" },
    locale: "fr",
    guests: Array.from({ length: guests }, (_, i) => ({ id: `g${i}`, firstName: "Guest", lastName: `Number ${i}`, email: `g${i}@example.com` })),
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
  if (last.status !== BatchStatus.COMPLETED || last.completedCount !== guests) throw new Error(`${name}: batch ended ${BatchStatus[last.status]} with ${last.completedCount}/${guests}`);
  const workerPeakMb = memoryMb(worker.pid!).peak;
  return {
    name,
    guests,
    totalMs,
    firstTicketMs,
    apiPid: api.pid!,
    workerPeakMb,
    client,
    batchId: batch!.id,
    async stop() {
      await Promise.all([stop(worker), stop(api)]);
      rmSync(blobDir, { recursive: true, force: true });
    },
  };
}

async function main() {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const name = `ticketgen_bench_${randomBytes(4).toString("hex")}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    const baseline = await run("one Chromium print per ticket (BATCH_SIZE=1)", BASELINE_GUESTS, 1, url.toString());
    await baseline.stop();
    const chunked = await run("ticketgen: 100 tickets per print, split (BATCH_SIZE=100)", GUESTS, 100, url.toString());

    const createPeak = memoryMb(chunked.apiPid).peak;
    // Linux: writing 5 to clear_refs resets VmHWM, so the next peak is the download's own.
    writeFileSync(`/proc/${chunked.apiPid}/clear_refs`, "5");
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
    console.log("| CreateBatch → COMPLETED | guests | total | tickets/s | time to first ticket | worker peak RSS (node) | vs one print per ticket |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const r of [chunked, baseline]) {
      const ratio = r === baseline ? "baseline" : `${(rate(r) / rate(baseline)).toFixed(1)}× the throughput`;
      console.log(`| ${r.name} | ${r.guests} | ${(r.totalMs / 1000).toFixed(1)} s | ${rate(r).toFixed(1)} | ${(r.firstTicketMs / 1000).toFixed(2)} s | ${r.workerPeakMb.toFixed(0)} MB | ${ratio} |`);
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
    console.log("The baseline renders fewer guests (--baseline-guests) since it is ~20× slower; throughput is per guest either way. Worker RSS excludes Chromium's own processes.");
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
