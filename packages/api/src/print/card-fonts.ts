import { readFileSync } from "node:fs";
import fontkit from "@pdf-lib/fontkit";
import type { PDFDocument, PDFFont } from "pdf-lib";

/** Debian's Noto fonts (scripts/setup.sh, FONT_PACKAGES), the ones the built-in templates use. */
const FONT_DIR = "/usr/share/fonts/truetype/noto";
const CJK_DIR = "/usr/share/fonts/opentype/noto";

interface FontFile {
  regular: string;
  bold: string;
  /** The face to take from a font collection (.ttc). */
  face?: { regular: string; bold: string };
}

const noto = (script: string): FontFile => ({
  regular: `${FONT_DIR}/NotoSans${script}-Regular.ttf`,
  bold: `${FONT_DIR}/NotoSans${script}-Bold.ttf`,
});

/**
 * Tried in order for every character: the first font with a glyph draws it. Latin, Greek and
 * Cyrillic first, then the scripts the built-in templates' font stack reaches.
 */
const FALLBACK: readonly FontFile[] = [
  noto(""),
  noto("Arabic"),
  noto("Hebrew"),
  noto("Devanagari"),
  noto("Bengali"),
  noto("Thai"),
  noto("Armenian"),
  noto("Georgian"),
  noto("Ethiopic"),
  {
    regular: `${CJK_DIR}/NotoSansCJK-Regular.ttc`,
    bold: `${CJK_DIR}/NotoSansCJK-Bold.ttc`,
    face: { regular: "NotoSansCJKjp-Regular", bold: "NotoSansCJKjp-Bold" },
  },
];

/** Ticket codes are ASCII: the monospaced face the built-in templates print them in. */
const MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

export type Weight = "regular" | "bold";

/** A file's bytes and its parsed glyph coverage, read once per process when first needed. */
interface LoadedFont {
  bytes: Uint8Array;
  face: string | undefined;
  hasGlyph: (codePoint: number) => boolean;
}

const loaded = new Map<string, LoadedFont>();

function load(path: string, face: string | undefined): LoadedFont {
  let font = loaded.get(path);
  if (!font) {
    const bytes = readFileSync(path);
    const parsed = fontkit.create(bytes, face);
    font = { bytes, face, hasGlyph: (codePoint) => parsed.hasGlyphForCodePoint(codePoint) };
    loaded.set(path, font);
  }
  return font;
}

/** One font's share of a string: drawn in one call. */
export interface TextRun {
  font: PDFFont;
  text: string;
}

/**
 * The fonts of one PDF document: each embedded (subset to the glyphs drawn) the first time a
 * character needs it.
 */
export class CardFonts {
  private readonly embedded = new Map<string, PDFFont>();

  private constructor(private readonly doc: PDFDocument) {}

  static for(doc: PDFDocument): CardFonts {
    // pdf-lib hands the font bytes to fontkit.create without a face name: a collection (.ttc)
    // would come back whole, so the face wanted is picked here.
    doc.registerFontkit({
      create: (bytes: Uint8Array, face?: string) => fontkit.create(bytes, face ?? faceOf(bytes)),
    } as Parameters<PDFDocument["registerFontkit"]>[0]);
    return new CardFonts(doc);
  }

  /** `text` cut into runs of one font each, every character in the first font that has it. */
  async runs(text: string, weight: Weight): Promise<TextRun[]> {
    const runs: TextRun[] = [];
    let current: { file: FontFile; text: string } | undefined;
    for (const char of text) {
      const codePoint = char.codePointAt(0)!;
      // Spaces and marks stay with the run they are in, so a right-to-left name is one run.
      const file =
        current && (char === " " || load(current.file[weight], current.file.face?.[weight]).hasGlyph(codePoint))
          ? current.file
          : (FALLBACK.find((candidate) => load(candidate[weight], candidate.face?.[weight]).hasGlyph(codePoint)) ?? FALLBACK[0]!);
      if (current && file === current.file) current.text += char;
      else {
        if (current) runs.push({ font: await this.font(current.file[weight], current.file.face?.[weight]), text: current.text });
        current = { file, text: char };
      }
    }
    if (current) runs.push({ font: await this.font(current.file[weight], current.file.face?.[weight]), text: current.text });
    return runs;
  }

  mono(): Promise<PDFFont> {
    return this.font(MONO, undefined);
  }

  private async font(path: string, face: string | undefined): Promise<PDFFont> {
    let font = this.embedded.get(path);
    if (!font) {
      font = await this.doc.embedFont(load(path, face).bytes, { subset: true });
      this.embedded.set(path, font);
    }
    return font;
  }
}

/** The face name of the collection whose bytes these are (each collection is loaded once). */
function faceOf(bytes: Uint8Array): string | undefined {
  for (const font of loaded.values()) if (font.bytes === bytes) return font.face;
  return undefined;
}
