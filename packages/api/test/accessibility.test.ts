import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { RenderWorker } from "@ticketgen/render-worker";
import { readPdfStructure } from "../../shared/test/support/pdf-structure.ts";
import { batchRequest } from "./support/batches.ts";
import { pdfStructureTexts } from "./support/pdf.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

let api: TestApi;
let worker: RenderWorker;

beforeAll(async () => {
  // Two tickets a chunk: a 5-guest batch PDF joins three chunk documents.
  api = await startTestApi({ BATCH_SIZE: "2" });
  worker = await startTestWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
});

async function download(id: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of api.tickets.downloadTicketPdf({ id })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function generated(id: string): Promise<Ticket> {
  return waitFor(
    async () => {
      const { ticket } = await api.tickets.getTicket({ lookup: { case: "id", value: id } });
      return ticket?.status === TicketStatus.GENERATED ? ticket : undefined;
    },
    60_000,
    `ticket ${id} generated`,
  );
}

describe("a ticket's PDF, for assistive technology", () => {
  let ticket: Ticket;
  let pdf: Buffer;

  beforeAll(async () => {
    const request = ticketRequest({ startsAt: new Date("2031-03-05T18:30:00Z") });
    request.guest!.firstName = "Émilie";
    request.guest!.lastName = "Du Châtelet";
    request.locale = "fr";
    const { ticket: created } = await api.tickets.createTicket(request);
    ticket = await generated(created!.id);
    pdf = await download(ticket.id);
  });

  it("is tagged, in the ticket's language, with the title 'event — guest' shown as the window title and alt text on the QR code", async () => {
    const structure = await readPdfStructure(pdf);
    expect(structure).toMatchObject({ marked: true, hasStructTreeRoot: true, lang: "fr", displayDocTitle: true, problems: [] });
    expect(structure.info.Title).toBe("Autumn Gala — Émilie Du Châtelet");
    expect(structure.elements.filter((e) => e.type === "Figure").map((e) => e.alt)).toEqual([`Ticket QR code, ${ticket.ticketCode}`]);
    // Headings a screen reader can jump between: the event, then "good to know".
    expect(structure.elements.filter((e) => /^H\d$/.test(e.type)).map((e) => e.type)).toEqual(["H1", "H2"]);
    expect(structure.roleMap).toEqual({ Aside: "Div" });
  });

  it("carries its metadata: title, author (the organiser), subject, keywords, creation date, producer, also as XMP", async () => {
    const { info, xmp } = await readPdfStructure(pdf);
    expect(info).toMatchObject({
      Title: "Autumn Gala — Émilie Du Châtelet",
      Author: "default", // the tenant: this test runs without authentication
      Subject: `VIP ticket ${ticket.ticketCode} for Émilie Du Châtelet: Autumn Gala at Salle Pleyel, Paris, 2031-03-05T18:30:00.000Z`,
      Keywords: `ticket ${ticket.ticketCode} Autumn Gala VIP`,
      Creator: "ticketgen",
    });
    expect(info.Producer).toMatch(/^ticketgen \(Skia\/PDF m\d+\)$/);
    const created = /^D:(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(info.CreationDate!)!;
    const createdAt = Date.UTC(+created[1]!, +created[2]! - 1, +created[3]!, +created[4]!, +created[5]!, +created[6]!);
    expect(Math.abs(createdAt - Date.now())).toBeLessThan(10 * 60_000);
    expect(xmp).toContain('<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Autumn Gala — Émilie Du Châtelet</rdf:li></rdf:Alt></dc:title>');
    expect(xmp).toContain("<dc:creator><rdf:Seq><rdf:li>default</rdf:li></rdf:Seq></dc:creator>");
    expect(xmp).toContain("<dc:language><rdf:Bag><rdf:li>fr</rdf:li></rdf:Bag></dc:language>");
  });

  it("reads in the ticket's order: header, event, date, venue, guest, type, code", async () => {
    const texts = await pdfStructureTexts(pdf);
    const order = [
      "Billet d’entrée",
      "Autumn Gala",
      "mercredi 5 mars 2031",
      "Salle Pleyel, Paris",
      "Émilie Du Châtelet",
      "VIP",
      ticket.ticketCode,
    ];
    const positions = order.map((text) => texts.findIndex((t) => t.toLowerCase() === text.toLowerCase()));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it("stays within the 40 KB single-ticket budget", () => {
    console.info(`tagged single ticket with metadata: ${pdf.length} B`);
    expect(pdf.length).toBeLessThanOrEqual(40 * 1024);
  });
});

describe("a batch's PDFs keep the tags through the chunk's split and the batch's join", () => {
  it("each ticket is tagged with its own title and alt text; the batch PDF is tagged with every ticket's structure in guest order", async () => {
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const request = batchRequest(5);
    request.locale = "fr";
    const { batch } = await batches.createBatch(request);
    await waitFor(
      async () => ((await batches.getBatch({ id: batch!.id })).batch?.status === BatchStatus.COMPLETED ? true : undefined),
      60_000,
      "batch completed",
    );
    const { tickets } = await api.tickets.listTickets({ eventId: request.event!.id, pageSize: 10 });
    expect(tickets).toHaveLength(5);
    for (const ticket of tickets) {
      const i = Number(ticket.guestId.replace("guest-", ""));
      const structure = await readPdfStructure(await download(ticket.id));
      expect(structure).toMatchObject({ marked: true, hasStructTreeRoot: true, lang: "fr", displayDocTitle: true, problems: [] });
      expect(structure.info.Title).toBe(`Autumn Gala — Guest${i} Number ${i}`);
      expect(structure.elements.filter((e) => e.type === "Figure").map((e) => e.alt)).toEqual([`Ticket QR code, ${ticket.ticketCode}`]);
    }

    const chunks: Uint8Array[] = [];
    for await (const { chunk } of batches.downloadBatchPdf({ id: batch!.id })) chunks.push(chunk);
    const whole = await readPdfStructure(Buffer.concat(chunks));
    expect(whole).toMatchObject({ marked: true, hasStructTreeRoot: true, lang: "fr", displayDocTitle: true, problems: [] });
    expect(whole.info.Title).toBe(`Tickets of batch ${batch!.id}`);
    expect(whole.elements.filter((e) => e.depth <= 1).map((e) => e.type)).toEqual(["Document", "Part", "Part", "Part"]);
    const byGuest = [...tickets].sort((a, b) => a.guestId.localeCompare(b.guestId));
    expect(whole.elements.filter((e) => e.type === "Figure").map((e) => e.alt)).toEqual(
      byGuest.map((t) => `Ticket QR code, ${t.ticketCode}`),
    );
  });
});
