import { readlink, rename, symlink, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { chromiumUnder } from "./support/proc.ts";
import type { FaultStack } from "./support/stack.ts";
import type { Workload } from "./support/workload.ts";

/** How long each outage lasts (ms). */
export interface Durations {
  redisUnreachable: number;
  postgresDown: number;
  blobWritesFail: number;
  webhookDown: number;
}

export const DOCUMENTED_DURATIONS: Durations = {
  redisUnreachable: 60_000,
  postgresDown: 300_000,
  blobWritesFail: 30_000,
  webhookDown: 60_000,
};
export const QUICK_DURATIONS: Durations = { redisUnreachable: 10_000, postgresDown: 20_000, blobWritesFail: 10_000, webhookDown: 15_000 };

export interface FaultContext {
  stack: FaultStack;
  workload: Workload;
  durations: Durations;
  /** What happened while injecting, for the report (exit codes, what was killed). */
  notes: string[];
  /** Failures seen while injecting (a process that did not exit cleanly on SIGTERM). */
  problems: string[];
}

export interface Fault {
  name: string;
  /** What is done, and how, in one line (docs/reliability.md lists these). */
  summary: string;
  /** The fault drives the batch's creation itself (it strikes during CreateBatch). */
  createsBatch?: boolean;
  /** Injects the fault during the workload and ends it; resolves once the fault is over. */
  inject(context: FaultContext): Promise<void>;
}

const POLL_MS = 20;
/** Longer than the API's SHUTDOWN_TIMEOUT_MS and the worker's RENDER_TIMEOUT_MS (their defaults) together. */
const SIGTERM_GRACE_MS = 45_000;

async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

/** Waits until the batch has some outcomes applied and more to come: chunks are being drawn. */
async function batchInFlight({ stack, workload, notes }: FaultContext): Promise<void> {
  const state = await poll(
    async () => {
      const [row] = await stack.sql<Array<{ status: string; done: number }>>`
        select status, completed_count + failed_count as done from batches where id = ${workload.batch.id!}`;
      return row && (row.done > 0 || row.status !== "PROCESSING") ? row : undefined;
    },
    // A bound for a loaded machine, where the single tickets ahead of it delay the first chunk.
    300_000,
    "the batch's first outcomes",
  );
  if (state.status !== "PROCESSING")
    notes.push(`the batch had ended (${state.status}) before the fault: only single tickets were in flight`);
}

async function restart(service: FaultStack["api"], context: FaultContext, signal: NodeJS.Signals): Promise<void> {
  service.signal(signal);
  context.notes.push(`${service.name} ${signal}: exit ${await service.exited()}`);
  await service.start();
}

export const FAULTS: Fault[] = [
  {
    name: "worker-sigkill",
    summary: "SIGKILL to the render worker's Node process while batch chunks are being drawn; a new worker is started at once",
    async inject(context) {
      await batchInFlight(context);
      await restart(context.stack.worker, context, "SIGKILL");
    },
  },
  {
    name: "api-sigkill-create-batch",
    summary:
      "SIGKILL to the API twice during CreateBatch: inside its storing transaction (seen in pg_stat_activity), then as soon as the batch row is committed; the caller retries on the same idempotency key",
    createsBatch: true,
    async inject(context) {
      const { stack, workload } = context;
      const created = workload.createBatch();
      await poll(
        async () => {
          const [row] = await stack.sql<Array<{ n: number }>>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid()
              and state in ('active', 'idle in transaction') and query ilike 'insert into "tickets"%' and backend_xid is not null
              and exists (select 1 from pg_locks l where l.pid = pg_stat_activity.pid and l.locktype = 'advisory')`;
          return row!.n > 0 ? true : undefined;
        },
        60_000,
        "CreateBatch's transaction",
      );
      await restart(stack.api, context, "SIGKILL");
      await poll(
        async () => ((await stack.sql`select 1 from batches where idempotency_key = ${workload.batch.key}`).length > 0 ? true : undefined),
        120_000,
        "the batch committed by a retry",
      );
      await restart(stack.api, context, "SIGKILL");
      await created;
      context.notes.push(`CreateBatch answered after ${workload.batch.attempts} attempts`);
    },
  },
  {
    name: "api-sigkill-results",
    summary:
      "SIGKILL to the API while it applies the batch's chunk results (after the first chunk's outcomes are stored); restarted at once",
    async inject(context) {
      await batchInFlight(context);
      await restart(context.stack.api, context, "SIGKILL");
    },
  },
  {
    name: "redis-restart-empty",
    summary:
      "the private redis-server (no persistence) SIGKILLed and started again empty on the same port: every queued job, lock and result is gone",
    async inject(context) {
      await batchInFlight(context);
      await context.stack.redis.stop();
      await context.stack.redis.start();
    },
  },
  {
    name: "redis-unreachable",
    summary:
      "the proxy in front of Redis black-holes every connection (open ones stall, new ones get no answer) for the outage, then forwards again",
    async inject(context) {
      await batchInFlight(context);
      context.stack.redisProxy.blackhole();
      await sleep(context.durations.redisUnreachable);
      await context.stack.redisProxy.pass();
    },
  },
  {
    name: "postgres-down",
    summary:
      "the proxy in front of PostgreSQL resets every open connection and closes its port (new connections refused) for the outage (the API's view of a PostgreSQL restart or outage)",
    async inject(context) {
      await batchInFlight(context);
      await context.stack.postgresProxy.refuse();
      await sleep(context.durations.postgresDown);
      await context.stack.postgresProxy.pass();
    },
  },
  {
    name: "postgres-reset",
    summary:
      "the proxy in front of PostgreSQL resets every open connection, and every new one as soon as it is accepted, for the outage (a load balancer with no healthy backend)",
    async inject(context) {
      await batchInFlight(context);
      context.stack.postgresProxy.reset();
      await sleep(context.durations.postgresDown);
      await context.stack.postgresProxy.pass();
    },
  },
  {
    name: "chromium-sigkill",
    summary: "SIGKILL to the worker's Chromium browser process (found under the worker in /proc) while chunks are being printed",
    async inject(context) {
      await batchInFlight(context);
      const { browsers, helpers } = chromiumUnder(context.stack.worker.pid!);
      for (const browser of browsers) process.kill(browser.pid, "SIGKILL");
      context.notes.push(`killed ${browsers.length} Chromium browser process(es) (${helpers.length} helpers under them)`);
    },
  },
  {
    name: "blob-writes-fail",
    summary:
      "BLOB_DIR, a symbolic link to the blob directory, is switched to a regular file for the outage, so every write fails (ENOTDIR, also as root); then switched back",
    async inject(context) {
      const { blobDir } = context.stack;
      const directory = await readlink(blobDir);
      const outage = `${blobDir}.outage`;
      await writeFile(outage, "the blob store is failing\n");
      await batchInFlight(context);
      // Renaming a new link over the old one switches it in one step: moving a directory aside
      // and putting a file in its place would leave a moment in which a write recreates it.
      await pointLink(blobDir, outage);
      await sleep(context.durations.blobWritesFail);
      await pointLink(blobDir, directory);
    },
  },
  {
    name: "webhook-down",
    summary: "the webhook receiver's port is closed (connections refused) for the outage, then opened again",
    async inject(context) {
      await context.stack.receiver.down();
      await sleep(context.durations.webhookDown);
      await context.stack.receiver.up();
    },
  },
  {
    name: "sigterm-all",
    summary:
      "SIGTERM to the API and the worker at once while chunks and single tickets are in flight; both must exit 0, then are started again",
    async inject(context) {
      const { api, worker } = context.stack;
      await batchInFlight(context);
      api.signal("SIGTERM");
      worker.signal("SIGTERM");
      const exits = await Promise.all(
        [api, worker].map(async (service) => [service.name, await service.exitedWithin(SIGTERM_GRACE_MS)] as const),
      );
      for (const [name, exit] of exits) {
        context.notes.push(`SIGTERM: ${name} exit ${exit}`);
        if (exit !== 0) context.problems.push(`${name} did not exit 0 on SIGTERM (${exit})`);
      }
      await api.start();
      await worker.start();
    },
  },
];

export function faultNamed(name: string): Fault {
  const fault = FAULTS.find((f) => f.name === name);
  if (!fault) throw new Error(`unknown fault ${name}: one of ${FAULTS.map((f) => f.name).join(", ")}`);
  return fault;
}

/** Points the symbolic link `link` at `target` atomically. */
async function pointLink(link: string, target: string): Promise<void> {
  await symlink(target, `${link}.next`);
  await rename(`${link}.next`, link);
}
