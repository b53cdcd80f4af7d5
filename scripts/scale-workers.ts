/**
 * How batch throughput scales with render-worker processes on this machine: the same batch
 * through CreateBatch → COMPLETED with the API and 1, then 2, … worker processes on one queue.
 *
 *   pnpm scale [--guests 2000] [--workers 1,2]
 *
 * Needs local PostgreSQL (TEST_DATABASE_URL; a scratch database is created and dropped) and
 * Redis (REDIS_URL). CPU busy is the whole machine's, from /proc/stat: run it on a quiet one.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BatchService, BatchStatus, CreateBatchRequestSchema } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import {
  scratchDatabase,
  startProcess,
  startStack,
  stopProcess,
  WORKER_ENTRY,
  WORKER_NODE_FLAGS,
  workerStarted,
} from "../bench/support/stack.ts";

const { values } = parseArgs({ options: { guests: { type: "string", default: "2000" }, workers: { type: "string", default: "1,2" } } });
const GUESTS = Number(values.guests);
const WORKER_COUNTS = values.workers.split(",").map(Number);

/** Busy and total jiffies of all CPUs together (user … steal; guest time is already in user). */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

interface Result {
  workers: number;
  seconds: number;
  firstTicketSeconds: number;
  cpuBusy: number;
}

async function run(workers: number, databaseUrl: string): Promise<Result> {
  const stack = await startStack(databaseUrl, { worker: false });
  const children = Array.from({ length: workers }, () =>
    startProcess(WORKER_ENTRY, { ...stack.env, LOG_LEVEL: "info" }, WORKER_NODE_FLAGS),
  );
  try {
    await Promise.all(children.map(workerStarted));
    const client = createClient(BatchService, createGrpcTransport({ baseUrl: stack.baseUrl }));
    const request = create(CreateBatchRequestSchema, {
      event: {
        id: `scale-${randomBytes(4).toString("hex")}`,
        name: "Scaling Gala",
        startsAt: timestampFromDate(new Date(Date.now() + 30 * 86_400_000)),
        location: "Paris",
        timezone: "Europe/Paris",
      },
      ticketType: { id: "std", name: "Standard" },
      locale: "fr",
      guests: Array.from({ length: GUESTS }, (_, i) => ({
        id: `g${i}`,
        firstName: "Guest",
        lastName: `Number ${i}`,
        email: `g${i}@example.com`,
      })),
    });
    const cpuBefore = cpuTimes();
    const started = performance.now();
    const { batch } = await client.createBatch(request);
    let firstTicketSeconds = 0;
    let last = batch!;
    for await (const { batch: update } of client.watchBatch({ id: batch!.id })) {
      if (!firstTicketSeconds && update!.completedCount > 0) firstTicketSeconds = (performance.now() - started) / 1000;
      last = update!;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpuTimes();
    if (last.status !== BatchStatus.COMPLETED || last.completedCount !== GUESTS) {
      throw new Error(`${workers} worker(s): batch ended ${BatchStatus[last.status]} with ${last.completedCount}/${GUESTS}`);
    }
    return { workers, seconds, firstTicketSeconds, cpuBusy: (cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total) };
  } finally {
    await Promise.all(children.map(stopProcess));
    await stack.stop();
  }
}

async function main() {
  const database = await scratchDatabase();
  const results: Result[] = [];
  try {
    for (const workers of WORKER_COUNTS) {
      results.push(await run(workers, database.url));
      console.error(`${workers} worker(s): ${results.at(-1)!.seconds.toFixed(1)} s`);
    }
  } finally {
    await database.drop();
  }
  const concurrency = process.env.QUEUE_CONCURRENCY ?? "2";
  console.log(
    `${GUESTS}-guest batch, API + N render-worker processes (QUEUE_CONCURRENCY=${concurrency} each), ${availableParallelism()} CPUs, ${new Date().toISOString()}`,
  );
  console.log();
  console.log("| workers | tickets/s | time to first ticket | speed-up vs 1 worker | CPU busy (machine) |");
  console.log("|---:|---:|---:|---:|---:|");
  const base = results.find((r) => r.workers === 1);
  for (const r of results) {
    const rate = GUESTS / r.seconds;
    const speedUp = base ? `${(rate / (GUESTS / base.seconds)).toFixed(2)}×` : "–";
    console.log(
      `| ${r.workers} | ${rate.toFixed(1)} | ${r.firstTicketSeconds.toFixed(2)} s | ${speedUp} | ${(r.cpuBusy * 100).toFixed(0)} % |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
