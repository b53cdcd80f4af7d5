import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { batchRequest } from "./support/batches.ts";
import { clientsFor, startTestApi, TEST_AUTH_SECRET, testToken, type Clients, type TestApi } from "./support/stack.ts";

// No render worker: every batch stays PROCESSING until it is cancelled, as all are at the end
// (the database is shared with other test files, whose sweepers would resend their chunks).
let api: TestApi;
const created: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  api = await startTestApi({ AUTH_JWT_SECRET: TEST_AUTH_SECRET, MAX_BATCHES_IN_FLIGHT: "2" });
});
afterAll(async () => {
  await Promise.all(created.map((cancel) => cancel().catch(() => undefined)));
  await api.stop();
});

async function newTenant(): Promise<Clients> {
  return clientsFor(api.baseUrl, await testToken(`cap-${randomBytes(4).toString("hex")}`));
}

const outcome = (call: Promise<{ batch?: { id: string } }>, tenant: Clients) =>
  call.then(
    ({ batch }) => {
      created.push(() => tenant.batches.cancelBatch({ id: batch!.id }));
      return "created";
    },
    (error: unknown) => {
      const { code, rawMessage } = ConnectError.from(error);
      return `${Code[code]}: ${rawMessage}`;
    },
  );

const FULL =
  "ResourceExhausted: this tenant already has 2 batches processing, and at most 2 may be in flight at once; " +
  "wait for one to end (WatchBatch tells when) or cancel one (CancelBatch), then retry";

describe("batches in flight per tenant (MAX_BATCHES_IN_FLIGHT)", () => {
  it("refuses a batch over the cap, still answers a replay, takes one again once a batch has ended", async () => {
    const tenant = await newTenant();
    const { batches } = tenant;
    const first = batchRequest(2, { idempotencyKey: "guest-list-1" });
    const { batch: one } = await batches.createBatch(first);
    created.push(() => batches.cancelBatch({ id: one!.id }));
    const { batch: two } = await batches.createBatch(batchRequest(2));

    expect(await outcome(batches.createBatch(batchRequest(2)), tenant)).toBe(FULL);
    // A replay creates nothing, so the cap does not apply to it.
    const replay = await batches.createBatch(first);
    expect({ id: replay.batch?.id, status: replay.batch?.status }).toEqual({ id: one!.id, status: BatchStatus.PROCESSING });
    // The cap is per tenant.
    const other = await newTenant();
    expect(await outcome(other.batches.createBatch(batchRequest(2)), other)).toBe("created");

    await batches.cancelBatch({ id: two!.id });
    expect(await outcome(batches.createBatch(batchRequest(2)), tenant)).toBe("created");
    expect(await outcome(batches.createBatch(batchRequest(2)), tenant)).toBe(FULL);
  });

  it("lets exactly the cap through when a tenant sends many batches at once", async () => {
    const tenant = await newTenant();
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => outcome(tenant.batches.createBatch(batchRequest(50)), tenant)));
    expect(outcomes.filter((o) => o === "created")).toHaveLength(2);
    expect(outcomes.filter((o) => o === FULL)).toHaveLength(4);
  });
});
