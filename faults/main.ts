/**
 * `pnpm faults [--quick] [--only <fault>[,<fault>…]] [--redis-outage-s N] [--postgres-outage-s N]
 * [--blob-outage-s N] [--webhook-outage-s N] [--settle-s N]`: injects each fault of catalog.ts
 * into the real stack on loopback during a multi-chunk batch and a stream of single tickets,
 * checks what was stored and announced, and prints a table. Exits 1 when any fault broke an
 * invariant, 2 on a usage error.
 */
import { parseArgs } from "node:util";
import { buildServices } from "../scripts/build.ts";
import { DOCUMENTED_DURATIONS, FAULTS, QUICK_DURATIONS, faultNamed, type Durations } from "./catalog.ts";
import { findings, machine, resultTable } from "./report.ts";
import { failed, runFault, type FaultResult } from "./run-fault.ts";

const usage = `usage: pnpm faults [--quick] [--only <fault>[,<fault>…]] [--redis-outage-s N] [--postgres-outage-s N] [--blob-outage-s N] [--webhook-outage-s N] [--settle-s N]
faults: ${FAULTS.map((f) => f.name).join(", ")}`;

const OPTIONS = {
  quick: { type: "boolean", default: false },
  only: { type: "string", multiple: true },
  "redis-outage-s": { type: "string" },
  "postgres-outage-s": { type: "string" },
  "blob-outage-s": { type: "string" },
  "webhook-outage-s": { type: "string" },
  "settle-s": { type: "string" },
  help: { type: "boolean", default: false },
} as const;

function parse() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
}

const args = parse();
if (args.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

function seconds(
  name: "redis-outage-s" | "postgres-outage-s" | "blob-outage-s" | "webhook-outage-s" | "settle-s",
  fallbackMs: number,
): number {
  const value = args[name];
  if (value === undefined) return fallbackMs;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    process.stderr.write(`--${name}: expected a positive number of seconds, got ${value}\n`);
    process.exit(2);
  }
  return parsed * 1000;
}

const base = args.quick ? QUICK_DURATIONS : DOCUMENTED_DURATIONS;
const durations: Durations = {
  redisUnreachable: seconds("redis-outage-s", base.redisUnreachable),
  postgresDown: seconds("postgres-outage-s", base.postgresDown),
  blobWritesFail: seconds("blob-outage-s", base.blobWritesFail),
  webhookDown: seconds("webhook-outage-s", base.webhookDown),
};
let selected;
try {
  selected = args.only ? args.only.flatMap((names) => names.split(",")).map(faultNamed) : FAULTS;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}

await buildServices();
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const started = Date.now();
const results: FaultResult[] = [];
for (const fault of selected) {
  log(`${fault.name}: ${fault.summary}`);
  const result = await runFault(
    fault,
    {
      durations,
      batchGuests: args.quick ? 240 : 1000,
      batchSize: args.quick ? 40 : 100,
      // The stream also waits while one of its tickets is unrendered (workload.ts), so that it
      // cannot starve the batch the faults strike during.
      singleIntervalMs: 400,
      settleMs: seconds("settle-s", args.quick ? 90_000 : 600_000),
      trafficAfterMs: 2_000,
    },
    log,
  );
  results.push(result);
  log(`${fault.name}: ${failed(result) ? "FAIL" : "ok"}`);
}

process.stdout.write(
  `Machine: ${machine()}. Mode: ${args.quick ? "--quick" : "documented"} (outages: Redis ${durations.redisUnreachable / 1000} s, PostgreSQL ${durations.postgresDown / 1000} s, blob writes ${durations.blobWritesFail / 1000} s, webhook ${durations.webhookDown / 1000} s); ${Math.round((Date.now() - started) / 1000)} s in all.\n\n`,
);
process.stdout.write(`${resultTable(results)}\n\n${findings(results)}\n`);
process.exit(results.some(failed) ? 1 : 0);
