import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { RenderWorker } from "@ticketgen/render-worker";
import { printPdf } from "../src/print/print-download.ts";
import { cardLogoOf } from "../src/print/card-logo.ts";
import { noisePng, rasterImage } from "./support/assets.ts";
import { batchRequest } from "./support/batches.ts";
import { pdfImages, pdfPageCount, pdfPageWords } from "./support/pdf.ts";
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

const MM = 72 / 25.4;
/** Tenant A's logo and tenant B's differ in size, so a PDF's image tells whose it is. */
const A_LOGO = { width: 120, height: 40 };
const B_LOGO = { width: 90, height: 90 };

let api: TestApi;
let worker: RenderWorker;
let a: Clients;
let b: Clients;
let aBatchId: string;
let aTicketId: string;
let bTicketId: string;

async function collect(stream: AsyncIterable<{ chunk: Uint8Array }>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The images a PDF holds (image objects, not the places they are drawn), by pixel size. */
async function imageObjects(pdf: Uint8Array): Promise<string[]> {
  const rows = (await pdfImages(pdf)).filter((row) => row.type === "image");
  return [...new Map(rows.map((row) => [row.object, `${row.width}x${row.height}`])).values()];
}

const size = ({ width, height }: { width: number; height: number }) => `${width}x${height}`;

async function generated(clients: Clients, id: string): Promise<void> {
  await waitFor(
    async () => {
      const { ticket } = await clients.tickets.getTicket({ lookup: { case: "id", value: id } });
      if (ticket?.status === TicketStatus.FAILED) throw new Error(`ticket failed: ${ticket.failureReason}`);
      return ticket?.status === TicketStatus.GENERATED ? true : undefined;
    },
    60_000,
    `ticket ${id} generated`,
  );
}

beforeAll(async () => {
  api = await startTestApi({ AUTH_JWT_SECRET: TEST_AUTH_SECRET });
  worker = await startTestWorker(api);
  a = clientsFor(api.baseUrl, await testToken("logos-a"));
  b = clientsFor(api.baseUrl, await testToken("logos-b"));
  // Only A has a logo while the tickets are issued and first downloaded.
  await a.templates.putAsset({ id: "logo", data: await rasterImage(A_LOGO.width, A_LOGO.height, "png") });
  const request = batchRequest(3);
  const { batch } = await a.batches.createBatch(request);
  aBatchId = batch!.id;
  const { ticket: bTicket } = await b.tickets.createTicket(ticketRequest());
  bTicketId = bTicket!.id;
  await waitFor(
    async () => ((await a.batches.getBatch({ id: aBatchId })).batch?.status === BatchStatus.COMPLETED ? true : undefined),
    60_000,
    "batch completed",
  );
  await generated(b, bTicketId);
  aTicketId = (await a.tickets.listTickets({ eventId: request.event!.id })).tickets[0]!.id;
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
});

describe("badges and labels show the calling tenant's logo asset", () => {
  it("a badge batch holds the logo once, drawn on every page above the text; labels too; a single badge has it", async () => {
    const badges = await collect(a.batches.downloadBatchPdf({ id: aBatchId, layout: PrintLayout.BADGE_A6 }));
    expect(await pdfPageCount(badges)).toBe(3);
    expect(await imageObjects(badges)).toEqual([size(A_LOGO)]);
    const drawn = (await pdfImages(badges)).filter((row) => row.type === "image");
    expect(drawn.map((row) => row.page)).toEqual([1, 2, 3]);
    // The logo's box is the badge's top 10 to 24 mm: every word is below it.
    const { words } = await pdfPageWords(badges, 1);
    expect(words.filter((word) => word.yMin < 24 * MM)).toEqual([]);

    const labels = await collect(a.batches.downloadBatchPdf({ id: aBatchId, layout: PrintLayout.LABELS_A4_3X8 }));
    expect(await imageObjects(labels)).toEqual([size(A_LOGO)]);
    expect((await pdfImages(labels)).filter((row) => row.type === "image")).toHaveLength(3);

    const badge = await collect(a.tickets.downloadTicketPdf({ id: aTicketId, layout: PrintLayout.BADGE_A6 }));
    expect(await imageObjects(badge)).toEqual([size(A_LOGO)]);
  });

  it("a tenant without a logo gets none, never another tenant's; once it has one, each sees only its own", async () => {
    const bare = await collect(b.tickets.downloadTicketPdf({ id: bTicketId, layout: PrintLayout.BADGE_A6 }));
    expect(await pdfImages(bare)).toEqual([]);

    await b.templates.putAsset({ id: "logo", data: await rasterImage(B_LOGO.width, B_LOGO.height, "jpeg") });
    const bBadge = await collect(b.tickets.downloadTicketPdf({ id: bTicketId, layout: PrintLayout.BADGE_A6 }));
    expect(await imageObjects(bBadge)).toEqual([size(B_LOGO)]);
    const aBadges = await collect(a.batches.downloadBatchPdf({ id: aBatchId, layout: PrintLayout.BADGE_A6 }));
    expect(await imageObjects(aBadges)).toEqual([size(A_LOGO)]);

    await a.templates.deleteAsset({ id: "logo" });
    const aLabels = await collect(a.batches.downloadBatchPdf({ id: aBatchId, layout: PrintLayout.LABELS_A4_3X8 }));
    expect(await pdfImages(aLabels)).toEqual([]);
  });

  it("an SVG logo is drawn as a PNG at print resolution (fit to the badge's 85 × 14 mm logo box at 300 dpi)", async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="14" fill="#1d3557"/></svg>`;
    await b.templates.putAsset({ id: "logo", data: Buffer.from(svg) });
    const badge = await collect(b.tickets.downloadTicketPdf({ id: bTicketId, layout: PrintLayout.BADGE_A6 }));
    // 14 mm at 300 dpi, from a 32 px drawing.
    expect(await imageObjects(badge)).toEqual(["166x166"]);
  });
});

describe("a long run of badges", () => {
  it("holds the logo once although each 25 badges are drawn as a document of their own", async () => {
    const logo = await cardLogoOf(noisePng(100, 40), "image/png");
    const count = 26;
    const chunks: Uint8Array[] = [];
    const output = printPdf(PrintLayout.BADGE_A6, {
      stored: () => [],
      cards: async function* () {
        for (let i = 0; i < count; i++) {
          yield { guestName: `Guest ${i}`, ticketType: "VIP", eventName: "Gala", ticketCode: `TKT-${i}`, qrPayload: `payload-${i}` };
        }
      },
      logo: async () => logo,
      title: "badges",
    });
    for await (const chunk of output) chunks.push(chunk);
    const pdf = Buffer.concat(chunks);
    expect(await pdfPageCount(pdf)).toBe(count);
    expect((await pdfImages(pdf)).filter((row) => row.type === "image")).toHaveLength(count);
    expect(await imageObjects(pdf)).toEqual(["100x40"]);
  });
});
