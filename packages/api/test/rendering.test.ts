import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { TicketStatus, ValidationResult, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { pdfImageCount, pdfPageCount, pdfQrCodes, pdfText } from "./support/pdf.ts";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

let api: TestApi;
let worker: RenderWorker;

beforeAll(async () => {
  api = await startTestApi();
  worker = await startTestWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
});

async function generated(id: string): Promise<Ticket> {
  return waitFor(
    async () => {
      const { ticket } = await api.tickets.getTicket({ lookup: { case: "id", value: id } });
      return ticket?.status === TicketStatus.GENERATED || ticket?.status === TicketStatus.FAILED ? ticket : undefined;
    },
    30_000,
    `ticket ${id} rendered`,
  );
}

async function download(id: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of api.tickets.downloadTicketPdf({ id })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe("a ticket through the whole pipeline", () => {
  it("is rendered to a PDF whose text and QR code a guest and a door scanner can use", async () => {
    const request = ticketRequest();
    request.guest!.firstName = "Émilie";
    request.guest!.lastName = "Châtelet";
    const { ticket: created } = await api.tickets.createTicket(request);
    const ticket = await generated(created!.id);
    expect(ticket.status).toBe(TicketStatus.GENERATED);
    expect(ticket.failureReason).toBe("");
    expect(ticket.generatedAt).toBeDefined();

    const pdf = await download(ticket.id);
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(pdf.length).toBe(Number(ticket.pdfSize));
    expect((await import("node:crypto")).createHash("sha256").update(pdf).digest("hex")).toBe(ticket.pdfSha256);
    expect(await pdfPageCount(pdf)).toBe(1);
    expect(await pdfImageCount(pdf)).toBe(0);
    expect(pdf.length).toBeLessThanOrEqual(40 * 1024);

    const text = await pdfText(pdf);
    expect(text).toContain("Émilie");
    expect(text).toContain("Châtelet");
    expect(text).toContain(ticket.ticketCode);
    expect(text).toContain("Autumn Gala");

    const [scanned, ...others] = await pdfQrCodes(pdf);
    expect(others).toEqual([]);
    expect(scanned).toBe(ticket.qrPayload);
    const verdict = await api.tickets.validateTicket({ credential: { case: "qrPayload", value: scanned! }, eventId: ticket.eventId });
    expect(verdict.result).toBe(ValidationResult.VALID);
  });

  it("uses the ticket's locale, falling back to ticket.hbs, with dates in the event's time zone", async () => {
    const render = async (locale: string) => {
      const request = ticketRequest({ startsAt: new Date("2031-03-05T18:30:00Z") });
      request.locale = locale;
      const { ticket } = await api.tickets.createTicket(request);
      return pdfText(await download((await generated(ticket!.id)).id));
    };
    const [fr, en, de] = await Promise.all([render("fr"), render("en"), render("de")]);
    expect(fr).toMatch(/mercredi 5 mars 2031/);
    expect(fr).toMatch(/19 h 30/);
    expect(en).toMatch(/Wednesday, March 5, 2031/);
    expect(en).toMatch(/7:30/);
    // No ticket_de.hbs: the default template, in the German date format.
    expect(de).toMatch(/Mittwoch, 5\. März 2031/);
    expect(de).not.toBe(en);
  });

  it("answers FAILED_PRECONDITION while the PDF does not exist yet", async () => {
    await worker.worker.pause();
    try {
      const { ticket } = await api.tickets.createTicket(ticketRequest());
      const error = await download(ticket!.id).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect({ code: error?.code, message: error?.rawMessage }).toEqual({
        code: Code.FailedPrecondition,
        message: `ticket ${ticket!.id} is still rendering; retry when its status is GENERATED`,
      });
    } finally {
      worker.worker.resume();
    }
  });
});
