import { readFileSync } from "node:fs";
import fontkit, { type Font } from "@pdf-lib/fontkit";
import type { Color, PDFDocument, PDFFont, PDFPage } from "pdf-lib";

/** Debian's Noto fonts (scripts/setup.sh, FONT_PACKAGES), the ones the built-in templates use. */
const FONT_DIR = "/usr/share/fonts/truetype/noto";
const CJK_DIR = "/usr/share/fonts/opentype/noto";

interface FontFile {
  regular: string;
  bold: string;
  /** The face to take from a font collection (.ttc). */
  face?: { regular: string; bold: string };
  /**
   * Drawn as glyph outlines instead of embedded: pdf-lib writes broken subsets of CFF-flavoured
   * OpenType fonts, which is what Noto CJK is. The glyphs print, but are not extractable text.
   */
  outlines?: boolean;
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
    outlines: true,
  },
];

/** Ticket codes are ASCII: the monospaced face the built-in templates print them in. */
const MONO: FontFile = { regular: "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", bold: "" };

export type Weight = "regular" | "bold";

/** A font file's bytes and parsed face, read once per process when first needed. */
interface LoadedFont {
  bytes: Uint8Array;
  face: Font;
}

const loaded = new Map<string, LoadedFont>();

function load(file: FontFile, weight: Weight): LoadedFont {
  const path = file[weight];
  let font = loaded.get(path);
  if (!font) {
    const bytes = readFileSync(path);
    font = { bytes, face: fontkit.create(bytes, file.face?.[weight]) };
    loaded.set(path, font);
  }
  return font;
}

/** A piece of text in one font, measured and drawn as one. */
export interface TextRun {
  text: string;
  widthAt(size: number): number;
  draw(page: PDFPage, options: { x: number; y: number; size: number; color: Color }): void;
}

/** A run of an embedded font: real text, extractable and searchable. */
function embeddedRun(font: PDFFont, text: string): TextRun {
  // Shaping is the costly part of measuring; the width grows with the size.
  const width = font.widthOfTextAtSize(text, 1);
  return {
    text,
    widthAt: (size) => width * size,
    draw: (page, { x, y, size, color }) => page.drawText(text, { x, y, size, font, color }),
  };
}

/** A run drawn glyph by glyph as filled outlines, shaped by fontkit like embedded text. */
function outlineRun(face: Font, text: string): TextRun {
  const { glyphs, positions, advanceWidth } = face.layout(text);
  return {
    text,
    widthAt: (size) => (advanceWidth * size) / face.unitsPerEm,
    draw: (page, { x, y, size, color }) => {
      const scale = size / face.unitsPerEm;
      let pen = 0;
      for (const [i, glyph] of glyphs.entries()) {
        const position = positions[i]!;
        const path = flipY(glyph.path.toSVG());
        if (path !== "") {
          page.drawSvgPath(path, {
            x: x + (pen + position.xOffset) * scale,
            y: y + position.yOffset * scale,
            scale,
            color,
            borderWidth: 0,
          });
        }
        pen += position.xAdvance;
      }
    },
  };
}

/**
 * Font outlines have y growing upwards; drawSvgPath reads SVG, where it grows downwards.
 * fontkit writes only absolute M, L, Q, C and Z commands, whose arguments are x, y pairs.
 */
function flipY(svg: string): string {
  return svg.replace(/([MLQC])([^MLQCZ]*)/g, (_, command: string, args: string) => {
    const numbers = args.match(/-?\d*\.?\d+(?:e-?\d+)?/g) ?? [];
    return command + numbers.map((n, i) => (i % 2 === 1 ? String(-Number(n)) : n)).join(" ");
  });
}

/**
 * The fonts of one PDF document: each embedded (subset to the glyphs drawn) the first time a
 * character needs it.
 */
export class CardFonts {
  private readonly embedded = new Map<string, PDFFont>();
  /** Text is measured at several sizes and line breaks before it is drawn. */
  private readonly known = new Map<string, TextRun[]>();

  constructor(private readonly doc: PDFDocument) {
    doc.registerFontkit(fontkit);
  }

  /** `text` cut into runs of one font each, every character in the first font that has it. */
  async runs(text: string, weight: Weight): Promise<TextRun[]> {
    const key = `${weight}:${text}`;
    let runs = this.known.get(key);
    if (!runs) {
      runs = await this.split(text, weight);
      this.known.set(key, runs);
    }
    return runs;
  }

  private async split(text: string, weight: Weight): Promise<TextRun[]> {
    const runs: TextRun[] = [];
    let current: { file: FontFile; text: string } | undefined;
    for (const char of text) {
      const codePoint = char.codePointAt(0)!;
      // Spaces stay with the run they are in, so a right-to-left name is one run.
      const file =
        current && (char === " " || load(current.file, weight).face.hasGlyphForCodePoint(codePoint))
          ? current.file
          : (FALLBACK.find((candidate) => load(candidate, weight).face.hasGlyphForCodePoint(codePoint)) ?? FALLBACK[0]!);
      if (current && file === current.file) current.text += char;
      else {
        if (current) runs.push(await this.run(current.file, weight, current.text));
        current = { file, text: char };
      }
    }
    if (current) runs.push(await this.run(current.file, weight, current.text));
    return runs;
  }

  async mono(text: string): Promise<TextRun[]> {
    return [await this.run(MONO, "regular", text)];
  }

  private async run(file: FontFile, weight: Weight, text: string): Promise<TextRun> {
    const font = load(file, weight);
    if (file.outlines) return outlineRun(font.face, text);
    let embedded = this.embedded.get(file[weight]);
    if (!embedded) {
      embedded = await this.doc.embedFont(font.bytes, { subset: true });
      this.embedded.set(file[weight], embedded);
    }
    return embeddedRun(embedded, text);
  }
}
