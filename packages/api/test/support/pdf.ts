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
