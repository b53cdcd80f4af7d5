import { Code, ConnectError, createClient } from "@connectrpc/connect";
import postgres from "postgres";
import { afterEach, describe, expect, inject, it } from "vitest";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { batchRequest } from "./support/batches.ts";
import { grpcTransport, startTestApi, waitFor } from "./support/stack.ts";
import { proxyFor, type TcpProxy } from "./support/tcp-proxy.ts";

// No render worker in this file: a batch changes only when a test changes it.
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function withProxy(url: string): Promise<TcpProxy> {
  const proxy = proxyFor(url);
  await proxy.start();
  cleanup.push(() => proxy.stop());
  return proxy;
}

/** PostgreSQL's ReadyForQuery ('Z', length 5, status): the last message of every answer. */
const endsWithReadyForQuery = (data: Buffer) =>
  data.length >= 6 && data[data.length - 6] === 0x5a && data.readInt32BE(data.length - 5) === 5;

describe("WatchBatch", () => {
  it("reads again when a change is announced during a read: the change shows without waiting for the poll", async () => {
    const db = await withProxy(inject("databaseUrl"));
    const api = await startTestApi({
      DATABASE_URL: db.url("postgres", new URL(inject("databaseUrl")).pathname),
      // Far beyond this test's timeout: only a wake-up can deliver the change.
      WATCH_POLL_INTERVAL_MS: "3600000",
      // Nothing else of this API reads PostgreSQL while its answers are held back.
      HEALTH_INTERVAL_MS: "60000",
    });
    cleanup.push(() => api.stop());
    await api.app.sweeper.stop();
    const sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
    cleanup.push(() => sql.end());
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { batch } = await batches.createBatch(batchRequest(2));
    const id = batch!.id;
    const controller = new AbortController();
    cleanup.push(async () => controller.abort());
    const stream = batches.watchBatch({ id }, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.batch).toMatchObject({ status: BatchStatus.PROCESSING, completedCount: 0 });

    // The watcher's listener and this one are called together, the watcher's first: once this
    // one has heard an announcement, the watcher has been woken by it.
    const heard = () =>
      new Promise<void>((resolve) => {
        const unlisten = api.app.progress.listen("default", id, () => {
          resolve();
          void unlisten.then((stop) => stop());
        });
      });
    const announce = async () => {
      const announced = heard();
      await api.app.progress.announce("default", id);
      await announced;
    };

    // A statement new to its connection is described first (an answer without ReadyForQuery,
    // let through), then executed: only the executed query's answer is held back.
    db.hold(endsWithReadyForQuery);
    await announce();
    await waitFor(async () => (db.heldData.length > 0 ? true : undefined), 10_000, "the watcher's read answered");
    // The read has seen the batch unchanged; the change and its announcement land before the
    // watcher gets that answer.
    await sql`update batches set completed_count = 1 where id = ${id}`;
    await announce();
    db.release();

    expect((await stream.next()).value?.batch).toMatchObject({ status: BatchStatus.PROCESSING, completedCount: 1 });
  }, 30_000);

  it("ends with UNAVAILABLE, asking the client to call again, when the server drains", async () => {
    const api = await startTestApi();
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= api.stop());
    cleanup.push(stop);
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const { batch } = await batches.createBatch(batchRequest(2));
    const stream = batches.watchBatch({ id: batch!.id })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.batch?.status).toBe(BatchStatus.PROCESSING);

    const stopping = stop();
    const error = await stream.next().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect({ code: error?.code, message: error?.rawMessage }).toEqual({
      code: Code.Unavailable,
      message: `this API server is shutting down; call WatchBatch again to keep watching batch ${batch!.id} (another server answers)`,
    });
    await stopping;
  });
});
