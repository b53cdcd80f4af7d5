import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PDFDocument, PDFName, PDFNumber } from "pdf-lib";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatPdfs, splitPdfPages, withDocumentInfo, type PdfDocumentInfo } from "../src/pdf/index.ts";
import { readPdfStructure } from "./support/pdf-structure.ts";

const run = promisify(execFile);

let dir: string;
let browser: Browser;
let files = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ticketgen-pdf-structure-"));
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
});

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A tagged Chromium print, one page per label: a heading, an image with alt text, a link, an aside. */
async function taggedPrint(labels: string[], lang = "de"): Promise<Uint8Array> {
  const page = await browser.newPage();
  try {
    const sections = labels.map(
      (label) =>
        `<section style="break-after: page"><h1>Ticket ${label}</h1>` +
        `<svg role="img" aria-label="QR ${label}" width="40" height="40"><rect width="40" height="40"/></svg>` +
        `<p><a href="https://example.com/${label}">venue map ${label}</a></p><aside>code ${label}</aside></section>`,
    );
    await page.setContent(`<!doctype html><html lang="${lang}"><body>${sections.join("")}</body></html>`);
    return new Uint8Array(await page.pdf({ format: "A4", tagged: true }));
  } finally {
    await page.close();
  }
}

/** The texts of the structure tree in reading order, as poppler reads them (`pdfinfo -struct-text`). */
async function structureTexts(pdf: Uint8Array): Promise<string[]> {
  const file = join(dir, `s${files++}.pdf`);
  await writeFile(file, pdf);
  const { stdout, stderr } = await run("pdfinfo", ["-struct-text", file]);
  expect(stderr).toBe("");
  return [...stdout.matchAll(/^\s*"(.+)"$/gm)].map((match) => match[1]!);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

const INFO: PdfDocumentInfo = {
  title: "Autumn Gala — Zoë Ñandú",
  author: "acme",
  subject: "VIP ticket TKT-1",
  keywords: ["ticket", "TKT-1", "Autumn Gala"],
  lang: "fr-CA",
  creationDate: new Date("2027-01-10T10:00:00Z"),
};

describe("a tagged PDF split page by page", () => {
  it("gives each page its own whole structure: its elements only, every marked content claimed, links still tagged", async () => {
    const labels = ["A-1", "B-2", "C-3"];
    const outputs = await splitPdfPages(await taggedPrint(labels));
    expect(outputs).toHaveLength(3);
    for (const [i, output] of outputs.entries()) {
      const structure = await readPdfStructure(output);
      expect(structure).toMatchObject({ marked: true, hasStructTreeRoot: true, lang: "de", problems: [] });
      expect(structure.elements.filter((e) => e.type === "Figure").map((e) => e.alt)).toEqual([`QR ${labels[i]}`]);
      expect(structure.elements.map((e) => e.type)).toContain("Link");
      expect(structure.roleMap).toEqual({ Aside: "Div" });
      const texts = await structureTexts(output);
      expect(texts).toEqual(expect.arrayContaining([`Ticket ${labels[i]}`, `venue map ${labels[i]}`, `code ${labels[i]}`]));
      expect(texts.join(" ")).not.toMatch(new RegExp(labels.filter((_, j) => j !== i).join("|")));
    }
  });

  it("sets each page's metadata when asked: Info, XMP, /Lang, the title as the window title", async () => {
    const [output] = await splitPdfPages(await taggedPrint(["A-1"]), { info: () => INFO });
    const structure = await readPdfStructure(output!);
    expect(structure).toMatchObject({ marked: true, lang: "fr-CA", displayDocTitle: true, problems: [] });
    // The top-level element said "de" (the print's <html lang>): the document's language wins.
    expect(structure.elements[0]).toMatchObject({ type: "Document", lang: "fr-CA" });
    expect(structure.info).toMatchObject({
      Title: INFO.title,
      Author: "acme",
      Subject: "VIP ticket TKT-1",
      Keywords: "ticket TKT-1 Autumn Gala",
      Creator: "ticketgen",
      CreationDate: "D:20270110100000Z",
    });
    expect(structure.info.Producer).toMatch(/^ticketgen \(Skia\/PDF m\d+\)$/);
    expect(structure.xmp).toContain(`<dc:title><rdf:Alt><rdf:li xml:lang="x-default">${INFO.title}</rdf:li></rdf:Alt></dc:title>`);
    expect(structure.xmp).toContain("<xmp:CreateDate>2027-01-10T10:00:00.000Z</xmp:CreateDate>");
  });

  it("the structure check finds a page whose content the parent tree no longer reaches", async () => {
    const [output] = await splitPdfPages(await taggedPrint(["A-1"]));
    const doc = await PDFDocument.load(output!);
    doc.getPages()[0]!.node.set(PDFName.of("StructParents"), PDFNumber.of(7));
    const broken = await readPdfStructure(await doc.save());
    expect(broken.problems.length).toBeGreaterThan(0);
    expect(broken.problems[0]).toMatch(/the parent tree names another element/);
  });
});

describe("tagged PDFs concatenated", () => {
  it("keep their structure: one Document, a Part per source, parent tree keys unique across sources, texts in page order", async () => {
    const a = await taggedPrint(["A-1", "A-2"]);
    const b = await taggedPrint(["B-1"], "fr");
    const [c] = await splitPdfPages(await taggedPrint(["C-1", "C-2"]), { info: () => INFO }); // object streams, metadata
    const output = await collect(concatPdfs([a, async () => b, async () => c!], { title: "Tickets of batch 42" }));

    const structure = await readPdfStructure(output);
    expect(structure).toMatchObject({ marked: true, hasStructTreeRoot: true, lang: "de", displayDocTitle: true, problems: [] });
    expect(structure.roleMap).toEqual({ Aside: "Div" });
    expect(structure.elements.filter((e) => e.depth === 0).map((e) => e.type)).toEqual(["Document"]);
    expect(structure.elements.filter((e) => e.depth === 1).map((e) => e.type)).toEqual(["Part", "Part", "Part"]);
    expect(structure.elements.filter((e) => e.type === "Figure").map((e) => e.alt)).toEqual(["QR A-1", "QR A-2", "QR B-1", "QR C-1"]);
    const headings = (await structureTexts(output)).filter((text) => text.startsWith("Ticket "));
    expect(headings).toEqual(["Ticket A-1", "Ticket A-2", "Ticket B-1", "Ticket C-1"]);
  });

  it("are not marked tagged when one source is not (its pages would be untagged content)", async () => {
    const untagged = await (async () => {
      const page = await browser.newPage();
      await page.setContent("<p>plain</p>");
      const pdf = new Uint8Array(await page.pdf({ format: "A4" }));
      await page.close();
      return pdf;
    })();
    const output = await collect(concatPdfs([await taggedPrint(["A-1"]), untagged]));
    const structure = await readPdfStructure(output);
    expect(structure).toMatchObject({ marked: false, hasStructTreeRoot: false });
    expect((await PDFDocument.load(output)).getPageCount()).toBe(2);
  });
});

describe("withDocumentInfo", () => {
  it("keeps a single print's structure and adds the metadata", async () => {
    const output = await withDocumentInfo(await taggedPrint(["A-1"]), INFO);
    const structure = await readPdfStructure(output);
    expect(structure).toMatchObject({ marked: true, lang: "fr-CA", displayDocTitle: true, problems: [], roleMap: { Aside: "Div" } });
    expect(structure.info.Title).toBe(INFO.title);
    expect(structure.elements.filter((e) => e.type === "Figure").map((e) => e.alt)).toEqual(["QR A-1"]);
  });
});
