import { execFile } from "node:child_process";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import v8 from "node:v8";
import { setImmediate as nextTick } from "node:timers/promises";
import { runInNewContext } from "node:vm";
import { inflateSync } from "node:zlib";
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFPageLeaf, PDFRef, StandardFonts } from "pdf-lib";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatPdfs, pdfPageCount, splitPdfPages, type ConcatPdfSource } from "../src/pdf/index.ts";

const run = promisify(execFile);

let dir: string;
let browser: Browser;
let fileCounter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ticketgen-pdf-"));
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
});

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Fixtures

/** One page per text, drawn with Helvetica; saved with object streams unless told otherwise. */
async function libPdf(texts: string[], useObjectStreams = true): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const text of texts) doc.addPage([300, 200]).drawText(text, { x: 20, y: 100, size: 14, font });
  return doc.save({ useObjectStreams });
}

/** Deterministic QR-like SVG, so each Chromium page has real vector content like a ticket. */
function fakeQr(seed: number): string {
  let state = seed * 7919 + 1;
  const rects: string[] = [];
  for (let y = 0; y < 41; y++) {
    for (let x = 0; x < 41; x++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      if (state & 0x100) rects.push(`<rect x="${x * 4}" y="${y * 4}" width="4" height="4"/>`);
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="164" height="164">${rects.join("")}</svg>`;
}

const ticketText = (label: string) => `Ticket ${label} — Zoë Núñez €42`;

/** One A4 page per label, like a batch print: embedded subset fonts, compressed streams, links. */
async function chromiumPdf(labels: string[], qr = false): Promise<Uint8Array> {
  const page = await browser.newPage();
  try {
    const sections = labels.map(
      (label, i) =>
        `<section style="page-break-after: always"><h1>${ticketText(label)}</h1>` +
        `<p>Seat ${i + 1} · <a href="https://example.com/t/${label}">details</a></p>${qr ? fakeQr(i) : ""}</section>`,
    );
    await page.setContent(`<!doctype html><html><body style="font-family: sans-serif">${sections.join("")}</body></html>`);
    return new Uint8Array(await page.pdf({ format: "A4", printBackground: true }));
  } finally {
    await page.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Poppler helpers

async function toFile(pdf: Uint8Array): Promise<string> {
  const file = join(dir, `f${fileCounter++}.pdf`);
  await writeFile(file, pdf);
  return file;
}

const normalize = (text: string) => text.replace(/\s+/g, " ").trim();

/** pdftotext of one page (or all), whitespace-normalized; fails on anything printed on stderr. */
async function pageText(file: string, page?: number): Promise<string> {
  const range = page === undefined ? [] : ["-f", String(page), "-l", String(page)];
  const { stdout, stderr } = await run("pdftotext", ["-enc", "UTF-8", ...range, file, "-"], { maxBuffer: 64 << 20 });
  expect(stderr).toBe("");
  return normalize(stdout);
}

async function pdfinfo(file: string): Promise<Record<string, string>> {
  const { stdout, stderr } = await run("pdfinfo", [file]);
  expect(stderr).toBe("");
  return Object.fromEntries(
    stdout
      .split("\n")
      .filter((line) => line.includes(":"))
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]),
  );
}

async function embeddedFonts(file: string): Promise<string[]> {
  const { stdout, stderr } = await run("pdffonts", [file]);
  expect(stderr).toBe("");
  return stdout
    .split("\n")
    .slice(2)
    .filter((line) => line.trim() !== "")
    .map((line) => line.split(/\s+/)[0]!);
}

/**
 * Structural check of a PDF with a cross-reference stream, stricter than poppler (which
 * silently rebuilds a broken xref): startxref points at the xref stream object, every entry of
 * type 1 points exactly at "N 0 obj", every entry of type 2 names an object stream (itself at a
 * type 1 entry) whose header lists that object at that index, /Size covers the table.
 */
function checkXrefStream(pdf: Uint8Array): void {
  const bytes = Buffer.from(pdf);
  const text = bytes.toString("latin1");
  expect(text.startsWith("%PDF-1.7\n")).toBe(true);
  expect(text.endsWith("%%EOF\n")).toBe(true);
  const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
  const head = /^(\d+) 0 obj\n<<\/Type \/XRef \/Size (\d+) \/W \[1 5 2\] \/Root 2 0 R[^\n]*? \/Length (\d+)>>\nstream\n/.exec(
    text.slice(startxref),
  );
  expect(head).not.toBeNull();
  const [, xrefNumber, sizeText, lengthText] = head!;
  const size = Number(sizeText);
  expect(Number(lengthText)).toBe(size * 8);
  const table = bytes.subarray(startxref + head![0].length, startxref + head![0].length + size * 8);
  const entry = (n: number) => {
    const e = table.subarray(n * 8, n * 8 + 8);
    return { type: e[0]!, field2: e.readUIntBE(1, 5), field3: e.readUInt16BE(6) };
  };
  const objectAt = (offset: number) => /^(\d+) 0 obj\n/.exec(text.slice(offset, offset + 24))?.[1];
  expect(entry(0).type).toBe(0);
  expect(entry(Number(xrefNumber))).toEqual({ type: 1, field2: startxref, field3: 0 });
  const streams = new Map<number, number[]>();
  for (let n = 1; n < size; n++) {
    const { type, field2, field3 } = entry(n);
    expect(type).toBeLessThanOrEqual(2);
    if (type === 1) expect(objectAt(field2)).toBe(String(n));
    if (type !== 2) continue;
    let members = streams.get(field2);
    if (!members) {
      const stream = entry(field2);
      expect(stream.type).toBe(1);
      const dict = /^\d+ 0 obj\n<<\/Type \/ObjStm \/N (\d+) \/First (\d+) \/Filter \/FlateDecode \/Length (\d+)>>\nstream\n/.exec(
        text.slice(stream.field2),
      )!;
      expect(dict).not.toBeNull();
      const start = stream.field2 + dict[0].length;
      const data = inflateSync(bytes.subarray(start, start + Number(dict[3]))).toString("latin1");
      const numbers = data.slice(0, Number(dict[2])).trim().split(/\s+/).map(Number);
      members = numbers.filter((_, i) => i % 2 === 0);
      expect(members).toHaveLength(Number(dict[1]));
      streams.set(field2, members);
    }
    expect(members[field3]).toBe(n);
  }
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

async function* fromArray<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

/**
 * A full collection, without requiring --expose-gc (Node lets a running process enable it for
 * a new context). ArrayBuffer backing stores are released by a sweeper after the collection,
 * hence the second pass after a turn of the event loop. Does nothing when gc is unavailable.
 */
function getGc(): { available: boolean; collect(): Promise<void> } {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    try {
      v8.setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = undefined;
    }
  }
  return {
    available: gc !== undefined,
    async collect() {
      gc?.();
      await nextTick();
      gc?.();
    },
  };
}

// ---------------------------------------------------------------------------------------------

describe("splitPdfPages", () => {
  it("splits a pdf-lib document into one single-page PDF per page with that page's text", async () => {
    const texts = ["alpha page one", "bravo page two", "charlie page three", "delta page four"];
    const input = await libPdf(texts);
    expect(await pdfPageCount(input)).toBe(4);

    const outputs = await splitPdfPages(input);
    expect(outputs).toHaveLength(4);
    for (const [i, output] of outputs.entries()) {
      const file = await toFile(output);
      expect((await pdfinfo(file)).Pages).toBe("1");
      expect(await pageText(file)).toBe(texts[i]);
      expect(await pdfPageCount(output)).toBe(1);
      expect(output.length).toBeLessThan(1500); // measured ~700 B: page, content, Helvetica dict
    }
  });

  it("splits a Chromium batch print; each ticket keeps its embedded fonts and only its own content", async () => {
    const labels = ["A-1", "B-2", "C-3", "D-4", "E-5", "F-6"];
    const input = await chromiumPdf(labels, true);
    const inputFile = await toFile(input);
    expect((await pdfinfo(inputFile)).Pages).toBe("6");

    const outputs = await splitPdfPages(input);
    expect(outputs).toHaveLength(6);
    for (const [i, output] of outputs.entries()) {
      const file = await toFile(output);
      expect((await pdfinfo(file)).Pages).toBe("1");
      expect(await pageText(file)).toBe(await pageText(inputFile, i + 1));
      expect(await pageText(file)).toContain(ticketText(labels[i]!));
      expect((await embeddedFonts(file)).length).toBeGreaterThan(0);
      // Fonts (one subset shared by the whole print) dominate; no other page's content is carried.
      expect(output.length).toBeLessThan(input.length * 0.9);
    }
    console.info(`split: Chromium ${labels.length}-page input ${input.length} B -> outputs ${outputs.map((o) => o.length).join(", ")} B`);
  });

  it("does not drag other pages in through a link annotation pointing at them", async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const pages = ["first", "second", "third"].map((text) => {
      const page = doc.addPage([300, 200]);
      page.drawText(text, { x: 20, y: 100, font });
      return page;
    });
    const link = doc.context.register(
      doc.context.obj({
        Type: "Annot",
        Subtype: "Link",
        Rect: [0, 0, 100, 20],
        Border: [0, 0, 0],
        Dest: [pages[2]!.ref, "Fit"],
        P: pages[0]!.ref,
      }),
    );
    pages[0]!.node.set(PDFName.of("Annots"), doc.context.obj([link]));
    const input = await doc.save();

    const outputs = await splitPdfPages(input);
    expect(outputs).toHaveLength(3);
    const first = await PDFDocument.load(outputs[0]!);
    const pageDicts = first.context.enumerateIndirectObjects().filter(([, object]) => object instanceof PDFPageLeaf);
    expect(pageDicts).toHaveLength(1);
    expect(await pageText(await toFile(outputs[0]!))).toBe("first");
  });
});

describe("concatPdfs", () => {
  it("concatenates sources of 3, 1 and 5 pages into one valid 9-page PDF, in order", async () => {
    const groups = [["one a", "one b", "one c"], ["two a"], ["three a", "three b", "three c", "three d", "three e"]];
    // Mixed inputs: object streams + xref stream, and a classic xref table.
    const sources = [await libPdf(groups[0]!), await libPdf(groups[1]!, false), await libPdf(groups[2]!)];
    const output = await collect(concatPdfs(fromArray(sources), { title: "Batch Ω 42" }));

    checkXrefStream(output);
    const file = await toFile(output);
    const info = await pdfinfo(file);
    expect(info.Pages).toBe("9");
    expect(info.Title).toBe("Batch Ω 42");
    expect(info["PDF version"]).toBe("1.7");
    const expected = groups.flat();
    for (const [i, text] of expected.entries()) expect(await pageText(file, i + 1)).toBe(text);

    const reloaded = await PDFDocument.load(output, { throwOnInvalidObject: true });
    expect(reloaded.getPageCount()).toBe(9);
    expect(reloaded.getPages().map((page) => page.getSize())).toEqual(Array(9).fill({ width: 300, height: 200 }));
  });

  it("concatenates Chromium prints (embedded subset fonts, compressed streams) with the text intact", async () => {
    const a = await chromiumPdf(["C1", "C2", "C3"], true);
    const b = await chromiumPdf(["D1", "D2", "D3", "D4"], true);
    const single = (await splitPdfPages(await chromiumPdf(["S1", "S2"])))[1]!; // re-saved by pdf-lib: object streams
    const output = await collect(concatPdfs([a, async () => b, async () => fromArray([single.subarray(0, 1000), single.subarray(1000)])]));

    checkXrefStream(output);
    const file = await toFile(output);
    expect((await pdfinfo(file)).Pages).toBe("8");
    const labels = ["C1", "C2", "C3", "D1", "D2", "D3", "D4", "S2"];
    for (const [i, label] of labels.entries()) {
      expect(await pageText(file, i + 1)).toBe(normalize(`${ticketText(label)} Seat ${i < 3 ? i + 1 : i < 7 ? i - 2 : 2} · details`));
    }
    // Each source keeps its own font subsets (fonts of different prints are not merged).
    expect((await embeddedFonts(file)).length).toBeGreaterThanOrEqual(3);
    expect(await pdfPageCount(output)).toBe(8);
  });

  it("keeps links between pages pointing at the copied pages", async () => {
    const doc = await PDFDocument.create();
    const pages = [doc.addPage([300, 200]), doc.addPage([300, 200])];
    const link = doc.context.register(
      doc.context.obj({ Type: "Annot", Subtype: "Link", Rect: [0, 0, 100, 20], Dest: [pages[1]!.ref, "Fit"] }),
    );
    pages[0]!.node.set(PDFName.of("Annots"), doc.context.obj([link]));
    const withLink = await doc.save();

    const output = await PDFDocument.load(await collect(concatPdfs([await libPdf(["x"]), withLink])));
    const [, linking, target] = output.getPages();
    const annots = linking!.node.lookup(PDFName.of("Annots"), PDFArray);
    const dest = annots.lookup(0, PDFDict).lookup(PDFName.of("Dest"), PDFArray);
    expect(dest.get(0)).toBeInstanceOf(PDFRef);
    expect(dest.get(0)).toBe(target!.ref);
  });

  it("loads each source only when the output reaches it", async () => {
    const events: string[] = [];
    const source =
      (name: string, texts: string[]): ConcatPdfSource =>
      async () => {
        events.push(`load ${name}`);
        return libPdf(texts);
      };
    const stream = concatPdfs([source("a", ["a"]), source("b", ["b"]), source("c", ["c"])]);
    for await (const chunk of stream) events.push(`chunk ${chunk.length > 0}`);
    expect(events.slice(0, 4)).toEqual(["load a", "chunk true", "load b", "chunk true"]);
    expect(events.filter((event) => event.startsWith("load"))).toEqual(["load a", "load b", "load c"]);
  });

  it("streams 6,000 pages (60 sources x 100) with memory bounded by one source", async () => {
    const source = await chromiumPdf(
      Array.from({ length: 100 }, (_, i) => `M${i + 1}`),
      true,
    );
    const gc = getGc();
    // Without a full collection the garbage would count as live memory: no measurement then.
    expect(gc.available, "a full garbage collection (v8 --expose-gc) for the memory measurement").toBe(true);
    async function* sources(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 60; i++) yield source; // the same bytes each time: a fast stand-in for 60 chunk PDFs
    }
    const file = join(dir, "big.pdf");
    const out = await open(file, "w");
    await gc.collect();
    const before = process.memoryUsage();
    let total = 0;
    let nextSample = 0;
    let peakHeap = 0;
    let peakBuffers = 0;
    try {
      for await (const chunk of concatPdfs(sources(), { title: "big" })) {
        await out.write(chunk);
        total += chunk.length;
        if (total >= nextSample) {
          // Live memory while the generator is suspended mid-stream (garbage collected first).
          nextSample = total + 512 * 1024;
          await gc.collect();
          const now = process.memoryUsage();
          peakHeap = Math.max(peakHeap, now.heapUsed - before.heapUsed);
          peakBuffers = Math.max(peakBuffers, now.arrayBuffers - before.arrayBuffers);
        }
      }
    } finally {
      await out.close();
    }
    console.info(
      `concat 60x100 pages: source ${source.length} B, output ${total} B, gc ${gc.available ? "yes" : "no"}, ` +
        `peak live heapUsed growth ${peakHeap} B (${((100 * peakHeap) / total).toFixed(1)}% of output), ` +
        `peak arrayBuffers growth ${peakBuffers} B`,
    );

    const info = await pdfinfo(file);
    expect(info.Pages).toBe("6000");
    expect(Number(info["File size"]?.split(" ")[0])).toBe(total);
    expect(await pageText(file, 1)).toContain(ticketText("M1"));
    expect(await pageText(file, 4242)).toContain(ticketText("M42"));
    expect(await pageText(file, 6000)).toContain(ticketText("M100"));
    expect(total).toBeGreaterThan(40 * source.length);
    expect(peakHeap).toBeLessThan(total * 0.25);
    expect(peakBuffers).toBeLessThan(total * 0.25);
    // A bound for a stuck stream, not a speed check: merging 60 tagged sources takes tens of seconds on two busy cores.
  }, 180_000);

  it("rejects when there is no source, no page, or an unreadable source", async () => {
    await expect(collect(concatPdfs([]))).rejects.toThrow("concatPdfs: no source PDFs to concatenate");
    await expect(collect(concatPdfs(fromArray<Uint8Array>([])))).rejects.toThrow(/no source PDFs/);
    const empty = await (await PDFDocument.create()).save({ addDefaultPage: false });
    await expect(collect(concatPdfs([empty]))).rejects.toThrow(/have no pages/);
    const broken = new TextEncoder().encode("not a pdf at all");
    await expect(collect(concatPdfs([await libPdf(["ok"]), broken]))).rejects.toThrow(/source #1/);
  });
});
