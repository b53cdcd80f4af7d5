import { afterAll, describe, expect, it } from "vitest";
import { batchRequest } from "../../api/test/support/batches.ts";
import { clientsFor, startTestApi, startTestWorker, type TestApi } from "../../api/test/support/stack.ts";
import { runCli } from "./support/run-cli.ts";

const stoppers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const stop of stoppers.reverse()) await stop();
});

describe("ticketgen batch watch", () => {
  it("follows a batch across its API's restart: the drain's UNAVAILABLE makes it call again", { timeout: 120_000 }, async () => {
    // No worker yet: the batch stays PROCESSING while the first API drains.
    const first: TestApi = await startTestApi();
    const { batch } = await clientsFor(first.baseUrl).batches.createBatch(batchRequest(3));

    let watching!: () => void;
    const firstUpdate = new Promise<void>((resolve) => (watching = resolve));
    const run = runCli(["--server", first.baseUrl, "--json", "batch", "watch", batch!.id], 90_000, {}, (stdout) => {
      if (stdout.includes(batch!.id)) watching();
    });
    await firstUpdate;
    await first.stop();

    // The same port, database and queues, now with a worker: the batch can finish.
    const second = await startTestApi({ ...first.env, PORT: String(first.app.port) });
    stoppers.push(() => second.stop());
    const worker = await startTestWorker(second);
    stoppers.push(() => worker.stop());

    const result = await run;
    expect(result, result.stderr).toMatchObject({ code: 0, stderr: "" });
    const updates = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { batch: { status: string; completedCount?: number } });
    expect(updates[0]!.batch.status).toBe("BATCH_STATUS_PROCESSING");
    expect(updates.at(-1)!.batch).toMatchObject({ status: "BATCH_STATUS_COMPLETED", completedCount: 3 });
  });
});
