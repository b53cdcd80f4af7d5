import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import { ValidationResult, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { RenderWorker } from "@ticketgen/render-worker";
import { runCli } from "../../cli/test/support/run-cli.ts";
import { batchRequest } from "./support/batches.ts";
import { pdfPageCount, pdfPageQrCodes, pdfPageWords, pdfTagged, type PdfWord } from "./support/pdf.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

const MM = 72 / 25.4;
const A4: [number, number] = [210 * MM, 297 * MM];
const LETTER: [number, number] = [8.5 * 72, 11 * 72];
const A6: [number, number] = [105 * MM, 148 * MM];
const landscape = ([width, height]: [number, number]): [number, number] => [height, width];

/**
 * Nine guests: the long name must wrap on a badge and a label rather than run off them, and the
 * Georgian one (on the label sheet) needs a font of its own.
 */
const GUESTS = 9;
const firstName = (i: number) =>
  i === 4 ? "Maximiliane-Konstanze Wilhelmina Aurelia" : i === 7 ? "ნინო" : ["Ada", "Émilie", "Grace", "Zoë"][i % 4]!;

interface LayoutCase {
  layout: PrintLayout;
  /** As the CLI and the test titles print it. */
  name: string;
  perPage: number;
  paper: [number, number];
  /** Cells of a sheet (columns × rows) and where the first starts from the top left, in points. */
  columns: number;
  rows: number;
  cell: [number, number];
  top?: number;
  /** Drawn from the ticket's data (name, code) rather than imposed from the stored pages. */
  cards?: boolean;
}

const LAYOUTS: LayoutCase[] = (
  [
    { layout: PrintLayout.A4, perPage: 1, paper: A4, columns: 1, rows: 1, cell: A4 },
    { layout: PrintLayout.A4_2UP, perPage: 2, paper: landscape(A4), columns: 2, rows: 1, cell: [A4[1] / 2, A4[0]] },
    { layout: PrintLayout.A4_4UP, perPage: 4, paper: A4, columns: 2, rows: 2, cell: [A4[0] / 2, A4[1] / 2] },
    { layout: PrintLayout.LETTER, perPage: 1, paper: LETTER, columns: 1, rows: 1, cell: LETTER },
    { layout: PrintLayout.LETTER_2UP, perPage: 2, paper: landscape(LETTER), columns: 2, rows: 1, cell: [LETTER[1] / 2, LETTER[0]] },
    { layout: PrintLayout.BADGE_A6, perPage: 1, paper: A6, columns: 1, rows: 1, cell: A6, cards: true },
    {
      layout: PrintLayout.LABELS_A4_3X8,
      perPage: 24,
      paper: A4,
      columns: 3,
      rows: 8,
      cell: [70 * MM, 37 * MM],
      top: 0.5 * MM,
      cards: true,
    },
  ] satisfies Array<Omit<LayoutCase, "name">>
).map((c) => ({ ...c, name: PrintLayout[c.layout] }));

let api: TestApi;
let worker: RenderWorker;
let batches: ReturnType<typeof createClient<typeof BatchService>>;
let batchId: string;
/** The batch's tickets in guest-list order. */
let tickets: Ticket[];

beforeAll(async () => {
  // Three tickets a chunk: 2-up and 4-up sheets take pages from two chunk documents.
  api = await startTestApi({ BATCH_SIZE: "3" });
  worker = await startTestWorker(api);
  batches = createClient(BatchService, grpcTransport(api.baseUrl));
  const request = batchRequest(GUESTS, { firstName });
  const { batch } = await batches.createBatch(request);
  batchId = batch!.id;
  await waitFor(
    async () => ((await batches.getBatch({ id: batchId })).batch?.status === BatchStatus.COMPLETED ? true : undefined),
    60_000,
    "batch completed",
  );
  const { tickets: listed } = await api.tickets.listTickets({ eventId: request.event!.id });
  tickets = request.guests.map((guest) => listed.find((ticket) => ticket.guestId === guest.id)!);
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
});

async function collect(stream: AsyncIterable<{ chunk: Uint8Array }>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const name = (i: number) => `${firstName(i)} Number ${i}`;
const layoutName = (layout: PrintLayout) => `PRINT_LAYOUT_${PrintLayout[layout]}`;

/** Every QR code decodes to a token ValidateTicket accepts, and together they are `expected`'s tickets. */
async function expectValidCodes(codes: string[], expected: Ticket[]): Promise<void> {
  expect(codes.toSorted()).toEqual(expected.map((ticket) => ticket.qrPayload).toSorted());
  for (const qrPayload of codes) {
    const { result } = await api.tickets.validateTicket({ credential: { case: "qrPayload", value: qrPayload } });
    expect(result).toBe(ValidationResult.VALID);
  }
}

/** Chromium prints A4 as 595.92 × 842.88 pt, a little over ISO's 595.28 × 841.89. */
function expectPaper(page: { width: number; height: number }, [width, height]: [number, number]): void {
  expect(Math.abs(page.width - width)).toBeLessThan(1.5);
  expect(Math.abs(page.height - height)).toBeLessThan(1.5);
}

/** The cell (column, row) a word lies in entirely, or undefined when it crosses a cell's edge. */
function cellOf(word: PdfWord, c: LayoutCase): [number, number] | undefined {
  const top = c.top ?? 0;
  const column = Math.floor(word.xMin / c.cell[0]);
  const row = Math.floor((word.yMin - top) / c.cell[1]);
  const inside =
    word.xMin >= column * c.cell[0] &&
    word.xMax <= (column + 1) * c.cell[0] &&
    word.yMin >= top + row * c.cell[1] &&
    word.yMax <= top + (row + 1) * c.cell[1];
  return inside ? [column, row] : undefined;
}

describe.each(LAYOUTS)("DownloadBatchPdf with $name", (c) => {
  let pdf: Buffer;

  beforeAll(async () => {
    pdf = await collect(batches.downloadBatchPdf({ id: batchId, layout: c.layout }));
  });

  it(`has ⌈n ÷ tickets per sheet⌉ pages of the layout's paper`, async () => {
    expect(await pdfPageCount(pdf)).toBe(Math.ceil(GUESTS / c.perPage));
    const page = await pdfPageWords(pdf, 1);
    expectPaper(page, c.paper);
  });

  it("prints QR codes that a scanner reads at 300 dpi, each a token ValidateTicket accepts", async () => {
    await expectValidCodes(await pdfPageQrCodes(pdf, 1, 300), tickets.slice(0, c.perPage));
  });

  it("cuts no text off: every word of the first sheet lies inside its cell, and each ticket's guest is in order", async () => {
    const page = await pdfPageWords(pdf, 1);
    expect(page.words.length).toBeGreaterThan(0);
    const outside = page.words.filter((word) => cellOf(word, c) === undefined);
    expect(outside).toEqual([]);
    for (let i = 0; i < Math.min(c.perPage, GUESTS); i++) {
      const cell = [i % c.columns, Math.floor(i / c.columns)];
      const words = page.words.filter((word) => cellOf(word, c)?.join() === cell.join());
      const text = words.map((word) => word.text).join(" ");
      expect(text).toContain(name(i));
      if (c.cards) expect(text.replace(/ /g, "")).toContain(tickets[i]!.ticketCode);
    }
  });

  it(
    c.layout === PrintLayout.A4 ? "stays tagged for screen readers" : "is untagged: imposed or drawn pages carry no structure",
    async () => {
      expect(await pdfTagged(pdf)).toBe(c.layout === PrintLayout.A4);
    },
  );
});

describe("DownloadTicketPdf with a layout", () => {
  it.each(LAYOUTS)("gives one $name page with the ticket on it", async (c) => {
    const ticket = tickets[1]!;
    const pdf = await collect(api.tickets.downloadTicketPdf({ id: ticket.id, layout: c.layout }));
    expect(await pdfPageCount(pdf)).toBe(1);
    const page = await pdfPageWords(pdf, 1);
    expectPaper(page, c.paper);
    expect(page.words.map((word) => word.text).join(" ")).toContain(name(1));
    // Imposed pages come from the code the batch tests scan; cards are drawn from this ticket's row.
    if (c.cards) await expectValidCodes(await pdfPageQrCodes(pdf, 1, 300), [ticket]);
  });
});

describe("an unknown layout", () => {
  it("is INVALID_ARGUMENT naming the layouts there are, for both downloads", async () => {
    const refusals = await Promise.all([
      collect(batches.downloadBatchPdf({ id: batchId, layout: 42 as PrintLayout })).catch((error: unknown) => ConnectError.from(error)),
      collect(api.tickets.downloadTicketPdf({ id: tickets[0]!.id, layout: 42 as PrintLayout })).catch((error: unknown) =>
        ConnectError.from(error),
      ),
    ]);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(ConnectError);
      expect((refusal as ConnectError).code).toBe(Code.InvalidArgument);
      expect((refusal as ConnectError).rawMessage).toBe(
        `layout: 42 is not a print layout; use one of ${LAYOUTS.map((c) => layoutName(c.layout)).join(", ")} (unset means PRINT_LAYOUT_A4)`,
      );
    }
  });
});

describe("the CLI's --layout", () => {
  it("downloads a batch and a ticket in a layout named as the CLI prints enums, in any case, and refuses an unknown one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ticketgen-layouts-"));
    const cli = (...args: string[]) => runCli(["--server", api.baseUrl, ...args]);
    try {
      const sheets = await cli("batch", "pdf", batchId, "--layout", "a4_4up", "--out", join(dir, "sheets.pdf"));
      expect(sheets, sheets.stderr).toMatchObject({ code: 0, stderr: "" });
      expect(await pdfPageCount(readFileSync(join(dir, "sheets.pdf")))).toBe(3);

      const badge = await cli("ticket", "pdf", tickets[0]!.ticketCode, "--layout", "BADGE_A6", "--out", join(dir, "badge.pdf"));
      expect(badge, badge.stderr).toMatchObject({ code: 0, stderr: "" });
      expectPaper(await pdfPageWords(readFileSync(join(dir, "badge.pdf")), 1), A6);

      const unknown = await cli("batch", "pdf", batchId, "--layout", "A5");
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain(
        `option '--layout <layout>' argument 'A5' is invalid. unknown layout; one of ${LAYOUTS.map((c) => c.name).join(", ")}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a revoked ticket", () => {
  it("gets no badge or label: the batch's badges leave it out, and its own badge is FAILED_PRECONDITION", async () => {
    const revoked = tickets[8]!;
    await api.tickets.revokeTicket({ id: revoked.id, reason: "guest cancelled" });
    const badges = await collect(batches.downloadBatchPdf({ id: batchId, layout: PrintLayout.BADGE_A6 }));
    expect(await pdfPageCount(badges)).toBe(GUESTS - 1);
    const refusal = await collect(api.tickets.downloadTicketPdf({ id: revoked.id, layout: PrintLayout.LABELS_A4_3X8 })).catch(
      (error: unknown) => ConnectError.from(error),
    );
    expect(refusal).toMatchObject({
      code: Code.FailedPrecondition,
      rawMessage: `ticket ${revoked.id} was revoked: a badge or label of it would not admit`,
    });
  });
});
