import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Inspects a PDF the way a guest's viewer and a door scanner would (poppler-utils, zbar-tools). */
async function withFile<T>(pdf: Uint8Array, work: (file: string, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "ticketgen-pdf-"));
  const file = join(dir, "ticket.pdf");
  writeFileSync(file, pdf);
  try {
    return await work(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const pdfText = (pdf: Uint8Array) => withFile(pdf, async (file) => (await run("pdftotext", ["-layout", file, "-"])).stdout);

export const pdfPageCount = (pdf: Uint8Array) =>
  withFile(pdf, async (file) => Number(/Pages:\s+(\d+)/.exec((await run("pdfinfo", [file])).stdout)?.[1]));

export const pdfImageCount = (pdf: Uint8Array) =>
  withFile(pdf, async (file) => (await run("pdfimages", ["-list", file])).stdout.trim().split("\n").length - 2);

/** Rasterises every page and decodes every QR code on it, as a phone camera would. */
export const pdfQrCodes = (pdf: Uint8Array) =>
  withFile(pdf, async (file, dir) => {
    await run("pdftoppm", ["-r", "150", "-gray", "-png", file, join(dir, "page")]);
    const codes: string[] = [];
    for (const png of readdirSync(dir)
      .filter((f) => f.endsWith(".png"))
      .sort()) {
      const { stdout } = await run("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", join(dir, png)]);
      codes.push(...stdout.split("\n").filter(Boolean));
    }
    return codes;
  });

/** Bidi controls poppler wraps right-to-left runs in (U+202A–202E, U+200E/F, U+2066–2069). */
const BIDI_CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const plain = (text: string) => text.replace(BIDI_CONTROLS, "").replace(/\s+/g, " ").normalize("NFC");

/**
 * The text of a PDF as pdftotext gives it in reading order (right-to-left runs reordered into
 * logical order) and in content-stream order (`-raw`), without bidi controls, whitespace
 * collapsed, NFC. Poppler misplaces the glyphs of Type 3 fonts (Chromium's CJK and emoji
 * glyphs), so a word next to them can land on another line in reading order but not in -raw.
 */
export const pdfTexts = (pdf: Uint8Array) =>
  withFile(pdf, async (file) => ({
    reading: plain((await run("pdftotext", ["-enc", "UTF-8", file, "-"])).stdout),
    raw: plain((await run("pdftotext", ["-enc", "UTF-8", "-raw", file, "-"])).stdout),
  }));

/** `pdffonts` rows: every font of the PDF, whether it is embedded, subset (a "ABCDEF+" name), and has a ToUnicode map. */
export const pdfFonts = (pdf: Uint8Array) =>
  withFile(pdf, async (file) =>
    (await run("pdffonts", [file])).stdout
      .split("\n")
      .slice(2)
      .filter((line) => line.trim() !== "")
      .map((line) => {
        // name, type (may hold spaces: "CID TrueType", "Type 3"), encoding, emb, sub, uni, object number, generation
        const words = line.trim().split(/\s+/);
        const [emb, sub, uni] = words.slice(-5, -2);
        return {
          name: words[0]!,
          type3: /\bType 3\b/.test(line),
          embedded: emb === "yes",
          subset: sub === "yes",
          toUnicode: uni === "yes",
        };
      }),
  );

/** The texts of the structure tree in reading order, as a screen reader walks it (`pdfinfo -struct-text`). */
export const pdfStructureTexts = (pdf: Uint8Array) =>
  withFile(pdf, async (file) => [...(await run("pdfinfo", ["-struct-text", file])).stdout.matchAll(/^\s*"(.*)"$/gm)].map((m) => m[1]!));

/** Decodes every QR code on one page (1-based) rasterised at `dpi`, as a door scanner reads a print. */
export const pdfPageQrCodes = (pdf: Uint8Array, page: number, dpi: number) =>
  withFile(pdf, async (file, dir) => {
    const png = join(dir, "page");
    // Uncompressed PGM: writing a 300 dpi PNG takes longer than decoding it.
    await run("pdftoppm", ["-r", String(dpi), "-gray", "-singlefile", "-f", String(page), "-l", String(page), file, png]);
    const { stdout } = await run("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", `${png}.pgm`]);
    return stdout.split("\n").filter(Boolean);
  });

export interface PdfWord {
  text: string;
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/** The page's size and every word pdftotext finds on it with its box, in points from the top left corner. */
export const pdfPageWords = (pdf: Uint8Array, page: number) =>
  withFile(pdf, async (file) => {
    const { stdout } = await run("pdftotext", ["-bbox", "-enc", "UTF-8", "-f", String(page), "-l", String(page), file, "-"]);
    const size = /<page width="([\d.]+)" height="([\d.]+)"/.exec(stdout)!;
    const words = [...stdout.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)].map(
      (m): PdfWord => ({ xMin: +m[1]!, yMin: +m[2]!, xMax: +m[3]!, yMax: +m[4]!, text: unescapeXml(m[5]!) }),
    );
    return { width: +size[1]!, height: +size[2]!, words };
  });

const unescapeXml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[name]!);

/** Whether the PDF says it is tagged (`pdfinfo`: "Tagged: yes"). */
export const pdfTagged = (pdf: Uint8Array) => withFile(pdf, async (file) => /^Tagged:\s+yes$/m.test((await run("pdfinfo", [file])).stdout));

/** `pdfimages -list` rows: each image drawn, by page, with its pixel size and the object it is (a shared image has one). */
export const pdfImages = (pdf: Uint8Array) =>
  withFile(pdf, async (file) =>
    (await run("pdfimages", ["-list", file], { maxBuffer: 64 * 1024 * 1024 })).stdout
      .split("\n")
      .slice(2)
      .filter((line) => line.trim() !== "")
      .map((line) => {
        // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
        const words = line.trim().split(/\s+/);
        return { page: Number(words[0]), type: words[2]!, width: Number(words[3]), height: Number(words[4]), object: Number(words[10]) };
      }),
  );

/** The first page's size in points, as `pdfinfo` reports it. */
export const pdfPageSize = (pdf: Uint8Array) =>
  withFile(pdf, async (file) => {
    const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec((await run("pdfinfo", [file])).stdout)!;
    return { width: Number(size[1]), height: Number(size[2]) };
  });
