import { execFileSync } from "node:child_process";
import { Queue } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RENDER_QUEUE, RESULTS_QUEUE } from "@ticketgen/shared";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketRequest } from "./support/requests.ts";
import { spawnWorker, type Spawned } from "./support/processes.ts";
import { startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

// Short locks so that a dead worker's job comes back within seconds, not the default 40 s.
const FAST_RECOVERY = { QUEUE_LOCK_DURATION_MS: "3000", QUEUE_STALLED_INTERVAL_MS: "1000", LOG_LEVEL: "info" };

let api: TestApi;
let renderQueue: Queue;
let resultsQueue: Queue;
const spawned: Spawned[] = [];

beforeAll(async () => {
  api = await startTestApi();
  renderQueue = new Queue(RENDER_QUEUE, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
  resultsQueue = new Queue(RESULTS_QUEUE, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
});

// Awaited: a worker still draining could take the next test's first job.
afterEach(async () => {
  const stopping = spawned.splice(0);
  for (const worker of stopping) worker.kill();
  await Promise.all(stopping.map((worker) => worker.exited()));
});

afterAll(async () => {
  await renderQueue?.close();
  await resultsQueue?.close();
  await api?.stop();
});

async function createTickets(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await api.tickets.createTicket(ticketRequest())).ticket!.id);
  return ids;
}

async function allGenerated(ids: string[], timeoutMs: number) {
  return waitFor(
    async () => {
      const tickets = await Promise.all(
        ids.map(async (id) => (await api.tickets.getTicket({ lookup: { case: "id", value: id } })).ticket!),
      );
      return tickets.every((t) => t.status === TicketStatus.GENERATED) ? tickets : undefined;
    },
    timeoutMs,
    "every ticket GENERATED",
  );
}

const activeJob = () => waitFor(async () => ((await renderQueue.getActiveCount()) > 0 ? true : undefined), 30_000, "a render in progress");

describe("render worker failures", () => {
  it("a worker killed (SIGKILL) mid-render loses nothing: another worker finishes every ticket, each once", async () => {
    const ids = await createTickets(8);
    const first = spawnWorker({ ...api.env, ...FAST_RECOVERY });
    spawned.push(first);
    await activeJob();
    first.kill("SIGKILL");
    await first.exited();

    const second = spawnWorker({ ...api.env, ...FAST_RECOVERY });
    spawned.push(second);
    const tickets = await allGenerated(ids, 60_000);
    expect(tickets.every((t) => t.pdfSha256.length === 64)).toBe(true);

    // One generated result per ticket reached the API, whatever was rendered twice.
    const results = await resultsQueue.getJobs(["completed", "waiting", "active"]);
    const perTicket = new Map<string, number>();
    for (const job of results.filter((j) => ids.includes(j.data.ticketId) && j.data.outcome === "generated")) {
      perTicket.set(job.data.ticketId, (perTicket.get(job.data.ticketId) ?? 0) + 1);
    }
    expect([...perTicket.values()]).toEqual(ids.map(() => 1));
  }, 90_000);

  it("drains on SIGTERM: the render in progress finishes, then Chromium and the process close (exit 0); the rest stays queued", async () => {
    const ids = await createTickets(6);
    const worker = spawnWorker({ ...api.env, QUEUE_CONCURRENCY: "1", LOG_LEVEL: "info" });
    spawned.push(worker);
    // Started, so that SIGTERM finds its handler rather than ending a process still loading.
    await worker.outputMatching(/"action":"worker_started"/);
    await activeJob();
    const active = (await renderQueue.getActive()).map((job) => job.id!);
    worker.kill("SIGTERM");
    const code = await worker.exited();
    expect(code, `signal ${worker.child.signalCode}; output ends: ${worker.output().slice(-3000)}`).toBe(0);
    expect(worker.output()).toContain('"action":"worker_stopped"');

    const after = await Promise.all(ids.map(async (id) => (await api.tickets.getTicket({ lookup: { case: "id", value: id } })).ticket!));
    expect(await Promise.all(active.map((id) => renderQueue.getJobState(id)))).toEqual(active.map(() => "completed"));
    expect(after.some((t) => t.status === TicketStatus.PENDING)).toBe(true);

    const next = spawnWorker({ ...api.env, LOG_LEVEL: "info" });
    spawned.push(next);
    await allGenerated(ids, 60_000);
  }, 90_000);

  it("a Chromium crash mid-render costs a retry, not a ticket", async () => {
    const worker = await startTestWorker(api);
    try {
      const ids = await createTickets(4);
      await activeJob();
      const launchesBefore = worker.pool.launches;
      // Chromium is a child of this process: kill it the hard way.
      execFileSync("pkill", ["-KILL", "-P", String(process.pid), "-f", "chromium"]);
      await allGenerated(ids, 60_000);
      expect(worker.pool.launches).toBeGreaterThan(launchesBefore);
    } finally {
      await worker.stop();
    }
  }, 90_000);
});
