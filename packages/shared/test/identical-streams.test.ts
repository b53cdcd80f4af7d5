import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { drawObject, PDFDocument, popGraphicsState, pushGraphicsState, concatTransformationMatrix } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatPdfs } from "../src/pdf/index.ts";

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ticketgen-identical-"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Picture {
  width: number;
  height: number;
  /** RGB samples, 3 bytes a pixel. */
  pixels: Uint8Array;
  /** Grey alpha samples, 1 byte a pixel: written as the image's /SMask, a stream it references. */
  alpha: Uint8Array;
}

function picture(width: number, height: number): Picture {
  return { width, height, pixels: randomBytes(width * height * 3), alpha: randomBytes(width * height) };
}

/** A document of `pages` pages, each drawing `image` (embedded once per document, as Chromium does). */
async function documentWith(image: Picture, pages: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const { width, height } = image;
  const smask = doc.context.register(
    doc.context.stream(image.alpha, {
      Type: "XObject",
      Subtype: "Image",
      Width: width,
      Height: height,
      ColorSpace: "DeviceGray",
      BitsPerComponent: 8,
    }),
  );
  const ref = doc.context.register(
    doc.context.stream(image.pixels, {
      Type: "XObject",
      Subtype: "Image",
      Width: width,
      Height: height,
      ColorSpace: "DeviceRGB",
      BitsPerComponent: 8,
      SMask: smask,
    }),
  );
  for (let i = 0; i < pages; i++) {
    const page = doc.addPage([300, 200]);
    page.pushOperators(
      pushGraphicsState(),
      concatTransformationMatrix(width, 0, 0, height, 10, 10),
      drawObject(page.node.newXObject("Logo", ref)),
      popGraphicsState(),
    );
  }
  return doc.save({ useObjectStreams: true });
}

async function joined(sources: Uint8Array[]): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of concatPdfs(sources)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** `pdfimages -list`: each image drawn, with its type (image, smask) and object number. */
async function images(pdf: Uint8Array): Promise<Array<{ page: number; type: string; object: number }>> {
  const file = join(dir, `${randomBytes(4).toString("hex")}.pdf`);
  await writeFile(file, pdf);
  const { stdout } = await run("pdfimages", ["-list", file]);
  return stdout
    .split("\n")
    .slice(2)
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const words = line.trim().split(/\s+/);
      return { page: Number(words[0]), type: words[2]!, object: Number(words[10]) };
    });
}

const objects = (rows: Array<{ type: string; object: number }>, type: string) =>
  new Set(rows.filter((row) => row.type === type).map((row) => row.object));

describe("concatPdfs with the same image in every source", () => {
  it("writes the image and its soft mask once, drawn on every page", async () => {
    const logo = picture(100, 100); // 30 KB of samples, 10 KB of mask
    const sources = await Promise.all([1, 2, 3].map(() => documentWith(logo, 2)));
    const pdf = await joined(sources);
    const rows = await images(pdf);
    expect(rows.map((row) => row.page)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    // pdfimages lists a soft mask under its image's object number: the size shows it is written once too.
    expect(objects(rows, "image").size).toBe(1);
    expect(pdf.length).toBeGreaterThan(40_000);
    expect(pdf.length).toBeLessThan(40_000 + 10_000);
  });

  it("keeps images apart when a byte or a dictionary entry differs", async () => {
    const logo = picture(100, 100);
    const changed = { ...logo, pixels: Uint8Array.from(logo.pixels, (value, i) => (i === 0 ? value ^ 1 : value)) };
    const turned = { ...logo, width: 50, height: 200 }; // same bytes, another shape
    const pdf = await joined([await documentWith(logo, 1), await documentWith(changed, 1), await documentWith(turned, 1)]);
    const rows = await images(pdf);
    expect(objects(rows, "image").size).toBe(3);
    // The soft masks of the first two are the same bytes and dictionary: shared (30 KB of samples
    // each, 10 KB of mask each, two masks written).
    expect(pdf.length).toBeGreaterThan(3 * 30_000 + 2 * 10_000);
    expect(pdf.length).toBeLessThan(3 * 30_000 + 3 * 10_000);
  });
});
