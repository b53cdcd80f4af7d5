import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus, type CreateTicketRequest } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { RenderWorker } from "@ticketgen/render-worker";
import { pageGlyphs } from "../../shared/test/support/pdf-glyphs.ts";
import { batchRequest } from "./support/batches.ts";
import { pdfFonts, pdfPageWords, pdfTexts } from "./support/pdf.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

const run = promisify(execFile);

interface Script {
  script: string;
  locale: string;
  firstName: string;
  lastName: string;
  event: string;
  venue: string;
}

/**
 * One ticket per script the built-in templates promise. The Arabic names avoid the lam-alef
 * ligature (لا, لأ): the PDF carries its two letters in order (an ActualText span), but
 * pdftotext's reordering of right-to-left text swaps them, so no name holding it comes back
 * exactly from pdftotext.
 */
const SCRIPTS: Script[] = [
  {
    script: "Latin with diacritics",
    locale: "fr",
    firstName: "Zoë-Ñandú",
    lastName: "Ångström-Łukasiewicz",
    event: "Fête de la Musique",
    venue: "Théâtre du Châtelet",
  },
  { script: "Greek", locale: "el", firstName: "Αλέξανδρος", lastName: "Παπαδόπουλος", event: "Φεστιβάλ Αθηνών", venue: "Ηρώδειο" },
  { script: "Cyrillic", locale: "ru", firstName: "Фёдор", lastName: "Достоевский", event: "Белые ночи", venue: "Мариинский театр" },
  { script: "Arabic", locale: "ar", firstName: "محمد", lastName: "العربي", event: "مهرجان الموسيقى", venue: "مسرح المدينة" },
  { script: "Hebrew", locale: "he", firstName: "דוד", lastName: "כהן", event: "פסטיבל ישראל", venue: "היכל התרבות" },
  { script: "Devanagari", locale: "hi", firstName: "अर्जुन", lastName: "शर्मा", event: "दिवाली उत्सव", venue: "कमानी सभागार" },
  { script: "Bengali", locale: "bn", firstName: "সত্যজিৎ", lastName: "রায়", event: "বসন্ত উৎসব", venue: "রবীন্দ্র সদন" },
  { script: "Thai", locale: "th", firstName: "สมชาย", lastName: "ใจดี", event: "ลอยกระทง", venue: "ศูนย์วัฒนธรรม" },
  { script: "Chinese", locale: "zh", firstName: "王", lastName: "小明", event: "春节晚会", venue: "国家大剧院" },
  { script: "Japanese", locale: "ja", firstName: "山田", lastName: "花子", event: "夏祭り", venue: "東京ドーム" },
  { script: "Korean", locale: "ko", firstName: "김", lastName: "민준", event: "봄 축제", venue: "세종문화회관" },
  { script: "colour emoji", locale: "en", firstName: "Zoë 🎉", lastName: "Astronaut 👩‍🚀", event: "Party 🎆", venue: "Rooftop 🇫🇷" },
];

/**
 * Every ticket's event: 19:00–23:30 at the venue (Paris, summer time), so the Arabic ticket's time
 * line is "7:00 م – 11:30 م غرينتش+2", digits and Arabic words mixed.
 */
const EVENT_TIMES = { startsAt: new Date("2036-06-12T17:00:00Z"), endsAt: new Date("2036-06-12T21:30:00Z") };

/** No installed font has it (U+0378 is unassigned): Chromium draws it as a missing-glyph box. */
const MISSING = "\u0378";

let api: TestApi;
let worker: RenderWorker;
const batches = () => createClient(BatchService, grpcTransport(api.baseUrl));

beforeAll(async () => {
  api = await startTestApi();
  worker = await startTestWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
});

function request(s: Script): CreateTicketRequest {
  const request = ticketRequest(EVENT_TIMES);
  request.locale = s.locale;
  request.event!.name = s.event;
  request.event!.location = s.venue;
  request.guest!.firstName = s.firstName;
  request.guest!.lastName = s.lastName;
  return request;
}

async function download(id: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of api.tickets.downloadTicketPdf({ id })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Issues a ticket through the API and returns its PDF once a worker has drawn it. */
async function drawn(req: CreateTicketRequest): Promise<Buffer> {
  const { ticket } = await api.tickets.createTicket(req);
  await waitFor(
    async () => {
      const { ticket: now } = await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } });
      if (now?.status === TicketStatus.FAILED) throw new Error(`ticket failed: ${now.failureReason}`);
      return now?.status === TicketStatus.GENERATED ? true : undefined;
    },
    60_000,
    `ticket ${ticket!.id} drawn`,
  );
  return download(ticket!.id);
}

/** What pdftotext cannot give back, of `names`: each must come back exactly in reading order or in -raw. */
async function namesNotExtracted(pdf: Uint8Array, names: readonly string[]): Promise<string[]> {
  const { reading, raw } = await pdfTexts(pdf);
  return names.map((name) => name.normalize("NFC")).filter((name) => !reading.includes(name) && !raw.includes(name));
}

/**
 * Fonts that are not embedded, or not subset. pdffonts marks subsets by their "ABCDEF+" name,
 * which Type 3 fonts (Chromium's CJK and emoji glyphs) do not have: those must carry only the
 * glyphs the page draws, plus `.notdef` (g0), which Chromium always adds.
 */
async function fontProblems(pdf: Uint8Array): Promise<string[]> {
  const fonts = await pdfFonts(pdf);
  const problems = fonts
    .filter((f) => !f.embedded || !f.toUnicode || (!f.type3 && !f.subset))
    .map((f) => `${f.name}: ${JSON.stringify(f)}`);
  for (const font of (await pageGlyphs(pdf)).type3) {
    const extra = font.carried.filter((glyph) => glyph !== "g0" && !font.drawn.includes(glyph));
    if (extra.length > 0) problems.push(`Type 3 font ${font.font} carries glyphs it does not draw: ${extra.join(", ")}`);
  }
  if (fonts.length === 0) problems.push("no font at all");
  return problems;
}

describe("a ticket in every script, drawn through the whole pipeline (API → queue → worker → blob store)", () => {
  const pdfs = new Map<string, Buffer>();

  beforeAll(async () => {
    const drawnPdfs = await Promise.all(SCRIPTS.map((s) => drawn(request(s))));
    for (const [i, s] of SCRIPTS.entries()) pdfs.set(s.script, drawnPdfs[i]!);
  });

  it.each(SCRIPTS)(
    "$script: pdftotext gives the guest, event and venue names back; every font embedded and subset; no missing-glyph box",
    async (s) => {
      const pdf = pdfs.get(s.script)!;
      expect(await namesNotExtracted(pdf, [`${s.firstName} ${s.lastName}`, s.event, s.venue])).toEqual([]);
      expect(await fontProblems(pdf)).toEqual([]);
      const { glyphs, missing } = await pageGlyphs(pdf);
      expect(glyphs.length).toBeGreaterThan(100);
      expect(missing).toEqual([]);
    },
  );

  it("Arabic: the time line reads right to left in order (start, dash, end, zone), not drawn as left-to-right text", async () => {
    // Drawn in the page's left-to-right direction, the line would show "م – 11:30 م غرينتش+2 7:00".
    const { words } = await pdfPageWords(pdfs.get("Arabic")!, 1);
    const start = words.find((word) => word.text === "7:00")!;
    const line = words
      .filter((word) => word.yMin < start.yMax && word.yMax > start.yMin && !/^[A-Z]+$/.test(word.text)) // not the label
      .sort((a, b) => b.xMax - a.xMax)
      .map((word) => word.text);
    expect(line).toEqual(["7:00", "م", "–", "11:30", "م", expect.stringMatching(/^(2\+شتنيرغ|غرينتش\+2)$/)]);
  });

  it("a Latin-only ticket stays within 40 KB (sizes of the others are reported)", () => {
    expect(pdfs.get("Latin with diacritics")!.length).toBeLessThanOrEqual(40 * 1024);
    console.info(`ticket PDF sizes: ${[...pdfs].map(([script, pdf]) => `${script} ${(pdf.length / 1024).toFixed(1)} KB`).join(", ")}`);
  });
});

describe("the missing-glyph check", () => {
  it("finds the box drawn for a character no installed font has", async () => {
    // fontconfig lists the fonts that have a character: none has U+0378, so the check is not vacuous.
    expect((await run("fc-list", [":charset=378", "family"])).stdout).toBe("");
    const s = SCRIPTS[0]!;
    const pdf = await drawn(request({ ...s, firstName: `Zoë${MISSING}` }));
    const { missing } = await pageGlyphs(pdf);
    // The guest's name is printed twice: on the ticket and in the footer.
    expect(missing).toHaveLength(2);
    expect(missing[0]!.glyph).toBe(0);
  });
});

describe("the same names as one batch (one Chromium document, split into a PDF per ticket)", () => {
  it("every guest's ticket gives the name back, embeds subset fonts and draws no missing-glyph box", async () => {
    const req = batchRequest(SCRIPTS.length);
    req.locale = "en";
    for (const [i, s] of SCRIPTS.entries()) Object.assign(req.guests[i]!, { firstName: s.firstName, lastName: s.lastName });
    const { batch } = await batches().createBatch(req);
    await waitFor(
      async () => {
        const { batch: now } = await batches().getBatch({ id: batch!.id });
        return now?.status === BatchStatus.COMPLETED ? now : undefined;
      },
      // A bound for a stuck batch, not a speed check: twelve scripts' fonts in one document, on
      // two cores shared with the rest of the suite.
      150_000,
      "batch completed",
    );
    const { tickets } = await api.tickets.listTickets({ eventId: req.event!.id, pageSize: 100 });
    expect(tickets).toHaveLength(SCRIPTS.length);
    for (const ticket of tickets) {
      const s = SCRIPTS[Number(ticket.guestId.replace("guest-", ""))]!; // batchRequest's guest ids are guest-<index>
      const pdf = await download(ticket.id);
      expect({ script: s.script, lost: await namesNotExtracted(pdf, [`${s.firstName} ${s.lastName}`]) }).toEqual({
        script: s.script,
        lost: [],
      });
      expect({ script: s.script, fonts: await fontProblems(pdf) }).toEqual({ script: s.script, fonts: [] });
      expect({ script: s.script, missing: (await pageGlyphs(pdf)).missing }).toEqual({ script: s.script, missing: [] });
    }
  }, 180_000);
});
