import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { readdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { generateTicketCode } from "@ticketgen/shared";
import { BatchStatus, type Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus, ValidationResult, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { ticketRequest } from "./support/requests.ts";
import {
  clientsFor,
  startTestApi,
  startTestWorker,
  TEST_AUTH_SECRET,
  testToken,
  waitFor,
  type Clients,
  type TestApi,
} from "./support/stack.ts";
import { refusal } from "./support/refusal.ts";

const TEMPLATE = "<html><body><h1>{{eventName}}</h1><p>{{guestName}}</p>{{qrCode}}<p>{{ticketCode}}</p></body></html>";

let api: TestApi;
let worker: RenderWorker;
let receiver: Server;
const deliveries: Array<{ type: string; data: { tenantId: string; ticketId?: string; batchId?: string } }> = [];
let a: Clients;
let b: Clients;

/** Tenant A's objects, which tenant B probes. */
let ticket: Ticket;
let batch: Batch;
let running: Batch;
const templateId = `gala-${randomUUID().slice(0, 8)}`;

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}

/**
 * B's answer for A's object must be B's answer for an object that does not exist: same code,
 * and the same message once the id is swapped.
 */
async function sameAsMissing(probe: (id: string) => Promise<unknown>, theirs: string, missing: string): Promise<void> {
  const forTheirs = await refusal(probe(theirs));
  const forMissing = await refusal(probe(missing));
  expect(forTheirs.code).toBe("NotFound");
  expect(forTheirs).toEqual({ code: forMissing.code, message: forMissing.message.replaceAll(missing, theirs) });
}

const missingId = () => randomUUID();
/** A well-formed code no ticket has. */
const missingCode = () => generateTicketCode(Date.now());

const generated = async (clients: Clients, id: string) =>
  waitFor(
    async () => {
      const { ticket } = await clients.tickets.getTicket({ lookup: { case: "id", value: id } });
      return ticket?.status === TicketStatus.GENERATED ? ticket : undefined;
    },
    30_000,
    `ticket ${id} GENERATED`,
  );

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      deliveries.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  api = await startTestApi({
    AUTH_JWT_SECRET: TEST_AUTH_SECRET,
    BATCH_SIZE: "5",
    CORE_SERVICE_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    WEBHOOK_SECRET: "webhook-secret-0123456789abcdef-0123",
  });
  worker = await startTestWorker(api);
  a = clientsFor(api.baseUrl, await testToken("tenant-a"));
  b = clientsFor(api.baseUrl, await testToken("tenant-b"));

  await a.templates.putTemplate({ id: templateId, name: "A's gala", content: TEMPLATE });
  ticket = (await a.tickets.createTicket({ ...ticketRequest({ idempotencyKey: "order-1" }), templateId })).ticket!;
  ticket = await generated(a, ticket.id);
  batch = (await a.batches.createBatch({ ...batchRequest(6), idempotencyKey: "batch-1" })).batch!;
  batch = await waitFor(
    async () => {
      const { batch: current } = await a.batches.getBatch({ id: batch.id });
      return current?.status === BatchStatus.COMPLETED ? current : undefined;
    },
    60_000,
    "A's batch COMPLETED",
  );
  // A second batch that stays PROCESSING: no worker takes it (the test's worker is stopped first).
  await worker.stop();
  running = (await a.batches.createBatch(batchRequest(3))).batch!;
});

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
  receiver?.close();
});

describe("another tenant's objects behave as if they did not exist", () => {
  it("GetTicket by id and by code", async () => {
    await sameAsMissing((id) => b.tickets.getTicket({ lookup: { case: "id", value: id } }), ticket.id, missingId());
    await sameAsMissing((code) => b.tickets.getTicket({ lookup: { case: "ticketCode", value: code } }), ticket.ticketCode, missingCode());
    expect((await a.tickets.getTicket({ lookup: { case: "ticketCode", value: ticket.ticketCode } })).ticket?.id).toBe(ticket.id);
  });

  it("ListTickets shows only the caller's tickets", async () => {
    const theirs = await b.tickets.listTickets({ eventId: ticket.eventId });
    expect(theirs.tickets).toEqual([]);
    expect(theirs.nextPageToken).toBe("");
    expect((await a.tickets.listTickets({ eventId: ticket.eventId })).tickets.map((t) => t.id)).toEqual([ticket.id]);
  });

  it("ValidateTicket: A's QR token or code is NOT_FOUND with no ticket, and a redeem changes nothing", async () => {
    for (const credential of [
      { case: "qrPayload" as const, value: ticket.qrPayload },
      { case: "ticketCode" as const, value: ticket.ticketCode },
    ]) {
      const verdict = await b.tickets.validateTicket({ credential, eventId: ticket.eventId, redeem: true });
      expect(verdict.result).toBe(ValidationResult.NOT_FOUND);
      expect(verdict.ticket).toBeUndefined();
    }
    // Still unused for A: A's own door redeems it once.
    const own = await a.tickets.validateTicket({
      credential: { case: "qrPayload", value: ticket.qrPayload },
      eventId: ticket.eventId,
      redeem: true,
    });
    expect(own.result).toBe(ValidationResult.VALID);
  });

  it("RevokeTicket touches nothing", async () => {
    await sameAsMissing((id) => b.tickets.revokeTicket({ id, reason: "hostile" }), ticket.id, missingId());
    expect((await a.tickets.getTicket({ lookup: { case: "id", value: ticket.id } })).ticket?.status).toBe(TicketStatus.GENERATED);
  });

  it("DownloadTicketPdf", async () => {
    await sameAsMissing((id) => drain(b.tickets.downloadTicketPdf({ id })), ticket.id, missingId());
    let bytes = 0;
    for await (const { chunk } of a.tickets.downloadTicketPdf({ id: ticket.id })) bytes += chunk.length;
    expect(bytes).toBe(Number(ticket.pdfSize));
  });

  it("CreateTicket: A's template is unknown to B, and the same idempotency key makes an independent ticket", async () => {
    const withTemplate = await refusal(b.tickets.createTicket({ ...ticketRequest(), templateId }));
    const withMissing = await refusal(b.tickets.createTicket({ ...ticketRequest(), templateId: "no-such-template" }));
    expect(withTemplate).toEqual({ ...withMissing, message: withMissing.message.replaceAll("no-such-template", templateId) });
    const mine = (await b.tickets.createTicket(ticketRequest({ idempotencyKey: "order-1" }))).ticket!;
    expect(mine.id).not.toBe(ticket.id);
    expect(mine.ticketCode).not.toBe(ticket.ticketCode);
    // A's replay still returns A's ticket.
    expect((await a.tickets.getTicket({ lookup: { case: "id", value: ticket.id } })).ticket?.id).toBe(ticket.id);
  });

  it("GetBatch, WatchBatch and DownloadBatchPdf", async () => {
    await sameAsMissing((id) => b.batches.getBatch({ id }), batch.id, missingId());
    await sameAsMissing((id) => drain(b.batches.watchBatch({ id })), batch.id, missingId());
    await sameAsMissing((id) => drain(b.batches.downloadBatchPdf({ id })), batch.id, missingId());
  });

  it("CancelBatch touches nothing", async () => {
    await sameAsMissing((id) => b.batches.cancelBatch({ id }), running.id, missingId());
    expect((await a.batches.getBatch({ id: running.id })).batch?.status).toBe(BatchStatus.PROCESSING);
  });

  it("CreateBatch: the same idempotency key makes an independent batch", async () => {
    const mine = (await b.batches.createBatch({ ...batchRequest(2), idempotencyKey: "batch-1" })).batch!;
    expect(mine.id).not.toBe(batch.id);
    expect(mine.totalCount).toBe(2);
    const withTemplate = await refusal(b.batches.createBatch({ ...batchRequest(1), templateId }));
    expect(withTemplate.code).toBe("NotFound");
  });

  it("GetTemplate, ListTemplates, PreviewTemplate; PutTemplate with the same id makes B's own template", async () => {
    await sameAsMissing((id) => b.templates.getTemplate({ id }), templateId, "no-such-template");
    await sameAsMissing((id) => b.templates.previewTemplate({ source: { case: "templateId", value: id } }), templateId, "no-such-template");
    expect((await b.templates.listTemplates({})).templates.map((t) => t.id)).not.toContain(templateId);
    const mine = (await b.templates.putTemplate({ id: templateId, content: "<p>B's {{guestName}}</p>" })).template!;
    expect(mine.version).toBe(1);
    expect((await b.templates.listTemplates({})).templates.map((t) => t.id)).toEqual([templateId]);
    const theirs = (await a.templates.getTemplate({ id: templateId })).template!;
    expect({ version: theirs.version, content: theirs.content }).toEqual({ version: 1, content: TEMPLATE });
  });

  it("GetAsset, ListAssets, DeleteAsset; PutAsset with the same id makes B's own asset", async () => {
    const logo = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/eL9GtQAAAABJRU5ErkJggg==", "base64");
    await a.templates.putAsset({ id: "logo", data: logo });
    await sameAsMissing((id) => b.templates.getAsset({ id }), "logo", "no-such-asset");
    await sameAsMissing((id) => b.templates.deleteAsset({ id }), "logo", "no-such-asset");
    expect((await b.templates.listAssets({})).assets.map((asset) => asset.id)).not.toContain("logo");
    const mine = `<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>`;
    expect((await b.templates.putAsset({ id: "logo", data: Buffer.from(mine) })).asset?.contentType).toBe("image/svg+xml");
    const theirs = await a.templates.getAsset({ id: "logo" });
    expect({ type: theirs.asset?.contentType, same: Buffer.from(theirs.data).equals(logo) }).toEqual({ type: "image/png", same: true });
  });

  it("webhook payloads carry the tenant of the ticket or batch", async () => {
    await waitFor(
      async () => (deliveries.some((d) => d.data.batchId === batch.id) ? true : undefined),
      30_000,
      "batch.completed delivered",
    );
    const ticketEvent = deliveries.find((d) => d.data.ticketId === ticket.id);
    const batchEvent = deliveries.find((d) => d.type === "batch.completed" && d.data.batchId === batch.id);
    expect(ticketEvent?.data.tenantId).toBe("tenant-a");
    expect(batchEvent?.data.tenantId).toBe("tenant-a");
  });
});

describe("the stores keep tenants apart", () => {
  it("keys A's PDFs under A's tenant in the blob store", async () => {
    const dir = api.env.BLOB_DIR!;
    expect(readdirSync(`${dir}/tickets`).sort()).toEqual(["tenant-a"]);
    expect(readdirSync(`${dir}/tickets/tenant-a`)).toContain(ticket.id);
    expect(readdirSync(`${dir}/batches`)).toEqual(["tenant-a"]);
  });
});
