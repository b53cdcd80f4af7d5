import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, loadWorkerConfig } from "@ticketgen/shared";
import { startRenderWorker } from "@ticketgen/render-worker";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { spawnWorker, type Spawned } from "./support/processes.ts";
import { freePort, RedisServer } from "./support/redis-server.ts";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi, startTestWorker, testEnv, waitFor } from "./support/stack.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function privateRedis(): Promise<RedisServer> {
  const redis = new RedisServer(await freePort());
  await redis.start();
  cleanup.push(() => redis.stop());
  return redis;
}

/** A worker process; stopped with SIGTERM so that it closes its Chromium itself. */
async function workerProcess(env: Record<string, string>): Promise<{ worker: Spawned; metricsPort: number }> {
  const metricsPort = await freePort();
  const worker = spawnWorker(testEnv({ ...env, METRICS_PORT: String(metricsPort) }));
  cleanup.push(async () => {
    worker.kill("SIGTERM");
    const timer = setTimeout(() => worker.kill("SIGKILL"), 15_000);
    await worker.exited();
    clearTimeout(timer);
  });
  await waitFor(() => probe(metricsPort, "/livez").catch(() => undefined), 30_000, `worker listening: ${worker.output()}`);
  return { worker, metricsPort };
}

async function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

const OK = { status: 200, body: "ok\n" };

/** Waits until `path` answers `expected`; fails with the last answer seen. */
async function until(port: number, path: string, expected: { status: number; body: string }, timeoutMs: number) {
  let last: unknown;
  await waitFor(
    async () => {
      last = await probe(port, path);
      return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
    },
    timeoutMs,
    `${path} answering ${JSON.stringify(expected)}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last answer ${JSON.stringify(last)}`);
  });
}

describe("render worker /livez and /readyz", () => {
  it("turns unready while its Redis is down, stays live, and is ready again once Redis is back", async () => {
    const redis = await privateRedis();
    const { metricsPort } = await workerProcess({ REDIS_URL: redis.url });
    expect(await probe(metricsPort, "/readyz")).toEqual(OK);
    expect(await probe(metricsPort, "/livez")).toEqual(OK);

    await redis.stop();
    await until(metricsPort, "/readyz", { status: 503, body: "redis: not connected\n" }, 15_000);
    expect(await probe(metricsPort, "/livez")).toEqual(OK);

    await redis.start();
    await until(metricsPort, "/readyz", OK, 10_000);
    expect(await probe(metricsPort, "/livez")).toEqual(OK);
  }, 60_000);

  it("turns unready when Chromium dies and cannot start again, and is ready once it can", async () => {
    // Chromium behind a wrapper that can be made to fail: the real binary, a real crash.
    const dir = mkdtempSync(join(tmpdir(), "ticketgen-chromium-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const wrapper = join(dir, "chromium");
    writeFileSync(wrapper, `#!/bin/sh\n[ -e "$0.broken" ] && exit 1\necho $$ > "$0.pid"\nexec /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    const { metricsPort } = await workerProcess({ CHROMIUM_EXECUTABLE_PATH: wrapper });
    expect(await probe(metricsPort, "/readyz")).toEqual(OK);

    writeFileSync(`${wrapper}.broken`, "");
    process.kill(Number(readFileSync(`${wrapper}.pid`, "utf8")), "SIGKILL");
    await until(
      metricsPort,
      "/readyz",
      { status: 503, body: "chromium: launch failed: browserType.launch: Target page, context or browser has been closed\n" },
      10_000,
    );
    expect(await probe(metricsPort, "/livez")).toEqual(OK);

    rmSync(`${wrapper}.broken`);
    // The pool retries on its own every few seconds; no job is needed to bring it back.
    await until(metricsPort, "/readyz", OK, 15_000);
  }, 60_000);

  it("is unready but live while draining", async () => {
    const config = loadWorkerConfig(testEnv());
    const worker = await startRenderWorker(config, createLogger("worker-test", config.logLevel));
    cleanup.push(() => worker.stop());
    expect(await probe(worker.metricsPort, "/readyz")).toEqual(OK);

    worker.health.drain();
    expect(await probe(worker.metricsPort, "/readyz")).toEqual({ status: 503, body: "draining: shutting down\n" });
    expect(await probe(worker.metricsPort, "/livez")).toEqual(OK);
  });

  it("is not live once BullMQ's worker has stopped unasked", async () => {
    const config = loadWorkerConfig(testEnv());
    const worker = await startRenderWorker(config, createLogger("worker-test", config.logLevel));
    cleanup.push(() => worker.stop());
    expect(await probe(worker.metricsPort, "/livez")).toEqual(OK);

    await worker.worker.close();
    expect(await probe(worker.metricsPort, "/livez")).toEqual({ status: 503, body: "worker: the BullMQ worker has stopped\n" });
    expect(await probe(worker.metricsPort, "/metrics").then((r) => r.status)).toBe(200);
  });

  it("turns unready while the blob store refuses its PDFs, stays live, and is ready once one is stored", async () => {
    const api = await startTestApi();
    cleanup.push(() => api.stop());
    const worker = await startTestWorker(api);
    cleanup.push(() => worker.stop());
    expect(await probe(worker.metricsPort, "/readyz")).toEqual(OK);

    // A file where the blob directory should be: every write fails, as with a wrong BLOB_DIR.
    const dir = api.env.BLOB_DIR!;
    renameSync(dir, `${dir}.aside`);
    writeFileSync(dir, "");
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    const refused = await waitFor(
      async () => {
        const answer = await probe(worker.metricsPort, "/readyz");
        return answer.status === 503 ? answer : undefined;
      },
      30_000,
      "/readyz answering 503",
    );
    expect(refused.body).toMatch(/^blob store: refuses writes since \d{4}-\d\d-\d\dT[\d:.]+Z: ENOTDIR: not a directory, mkdir '[^']+'\n$/);
    expect(await probe(worker.metricsPort, "/livez")).toEqual(OK);

    rmSync(dir);
    renameSync(`${dir}.aside`, dir);
    await until(worker.metricsPort, "/readyz", OK, 20_000);
    await waitFor(
      async () => {
        const { ticket: now } = await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } });
        return now?.status === TicketStatus.GENERATED ? true : undefined;
      },
      10_000,
      "the ticket GENERATED once its PDF was stored",
    );
  }, 60_000);
});
