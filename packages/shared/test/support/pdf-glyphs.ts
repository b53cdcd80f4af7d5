import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNumber,
  PDFRawStream,
  PDFStream,
  type PDFContext,
  type PDFObject,
} from "pdf-lib";

/** One glyph a page draws: the font's resource name, its type, and the glyph id in the font. */
export interface DrawnGlyph {
  font: string;
  subtype: "Type0" | "Type3";
  glyph: number;
}

/** A Type 3 font of the page: the glyph procedures it carries and the ones the page draws. */
export interface Type3Font {
  font: string;
  carried: string[];
  drawn: string[];
}

export interface PageGlyphs {
  glyphs: DrawnGlyph[];
  /** Glyphs drawn as glyph 0, `.notdef`: the box a font draws for a character it lacks. */
  missing: DrawnGlyph[];
  type3: Type3Font[];
}

/**
 * Every glyph a page draws, by glyph id, read from its content streams (and the form XObjects
 * they paint). A character no font has is drawn with glyph 0 (`.notdef`): the empty box on the
 * page. Text extraction cannot tell (poppler extracts a missing glyph as a space or as the
 * character itself), so this reads the glyph ids. Written for Chromium's (Skia's) PDFs: Type 0
 * fonts with Identity-H (code = glyph id) and Type 3 fonts whose glyph procedures are named
 * `g<hex glyph id>`; any other font fails loudly rather than being skipped. Hand-written: no
 * dependency of the project parses content streams down to glyph ids.
 */
export async function pageGlyphs(pdf: Uint8Array, pageIndex = 0): Promise<PageGlyphs> {
  const doc = await PDFDocument.load(pdf, { updateMetadata: false });
  const page = doc.getPages()[pageIndex];
  if (!page) throw new Error(`no page ${pageIndex}`);
  const context = doc.context;
  const glyphs: DrawnGlyph[] = [];
  const type3 = new Map<string, Type3Font>();

  const walk = (content: Uint8Array, resources: PDFDict | undefined, depth: number): void => {
    if (depth > 8) throw new Error("form XObjects nested deeper than 8");
    const fonts = lookupDict(context, resources?.get(PDFName.of("Font")));
    const xobjects = lookupDict(context, resources?.get(PDFName.of("XObject")));
    let font: FontDecoder | undefined;
    const operands: Operand[] = [];
    const show = (operand: Operand | undefined): void => {
      if (!(operand instanceof Uint8Array)) throw new Error("text operator without a string");
      if (!font) throw new Error("text shown before any Tf");
      for (const glyph of font.decode(operand)) glyphs.push(glyph);
    };
    for (const token of tokens(content)) {
      if (!(token instanceof Operator)) {
        operands.push(token);
        continue;
      }
      switch (token.name) {
        case "Tf": {
          const name = operands.at(-2);
          if (!(name instanceof Name)) throw new Error("Tf without a font name");
          font = fontDecoder(context, name.value, fonts?.get(PDFName.of(name.value)), type3);
          break;
        }
        case "Tj":
        case "'":
        case '"':
          show(operands.at(-1)); // the string is the last operand of each
          break;
        case "TJ": {
          const array = operands.at(-1);
          if (!Array.isArray(array)) throw new Error("TJ without an array");
          for (const item of array) if (item instanceof Uint8Array) show(item);
          break;
        }
        case "Do": {
          const name = operands.at(-1);
          const xobject = name instanceof Name ? context.lookup(xobjects?.get(PDFName.of(name.value))) : undefined;
          if (xobject instanceof PDFStream && xobject.dict.get(PDFName.of("Subtype")) === PDFName.of("Form")) {
            const own = lookupDict(context, xobject.dict.get(PDFName.of("Resources")));
            walk(streamBytes(xobject), own ?? resources, depth + 1);
          }
          break;
        }
      }
      operands.length = 0;
    }
  };

  const resources = page.node.Resources();
  const contents = context.lookup(page.node.get(PDFName.of("Contents")));
  const streams = contents instanceof PDFArray ? contents.asArray().map((ref) => context.lookup(ref)) : [contents];
  const parts = streams.map((stream) => {
    if (!(stream instanceof PDFStream)) throw new Error("page content is not a stream");
    return streamBytes(stream);
  });
  walk(Buffer.concat(parts.flatMap((part) => [part, Buffer.from("\n")])), resources, 0);
  for (const glyph of glyphs) {
    if (glyph.subtype === "Type3") type3.get(glyph.font)!.drawn.push(`g${glyph.glyph.toString(16).toUpperCase()}`);
  }
  for (const font of type3.values()) font.drawn = [...new Set(font.drawn)].sort();
  return { glyphs, missing: glyphs.filter((glyph) => glyph.glyph === 0), type3: [...type3.values()] };
}

interface FontDecoder {
  decode(bytes: Uint8Array): DrawnGlyph[];
}

function fontDecoder(context: PDFContext, resource: string, ref: PDFObject | undefined, type3: Map<string, Type3Font>): FontDecoder {
  const font = context.lookup(ref);
  if (!(font instanceof PDFDict)) throw new Error(`font ${resource} is not in the resources`);
  const subtype = font.get(PDFName.of("Subtype"));
  if (subtype === PDFName.of("Type0")) {
    if (font.get(PDFName.of("Encoding")) !== PDFName.of("Identity-H")) throw new Error(`font ${resource}: not Identity-H`);
    const descendant = context.lookup(lookupArray(context, font.get(PDFName.of("DescendantFonts")))?.get(0));
    const map = descendant instanceof PDFDict ? descendant.get(PDFName.of("CIDToGIDMap")) : undefined;
    if (map !== undefined && map !== PDFName.of("Identity")) throw new Error(`font ${resource}: CIDToGIDMap is not Identity`);
    return {
      decode: (bytes) => {
        const glyphs: DrawnGlyph[] = [];
        for (let i = 0; i + 1 < bytes.length; i += 2)
          glyphs.push({ font: resource, subtype: "Type0", glyph: (bytes[i]! << 8) | bytes[i + 1]! });
        return glyphs;
      },
    };
  }
  if (subtype === PDFName.of("Type3")) {
    const names = new Map<number, string>();
    const differences = lookupArray(context, lookupDict(context, font.get(PDFName.of("Encoding")))?.get(PDFName.of("Differences")));
    let code = 0;
    for (const item of differences?.asArray() ?? []) {
      if (item instanceof PDFNumber) code = item.asNumber();
      else if (item instanceof PDFName) names.set(code++, item.decodeText());
    }
    const charProcs = lookupDict(context, font.get(PDFName.of("CharProcs")));
    if (!type3.has(resource)) {
      type3.set(resource, { font: resource, carried: (charProcs?.keys() ?? []).map((key) => key.decodeText()).sort(), drawn: [] });
    }
    return {
      decode: (bytes) =>
        Array.from(bytes, (byte) => {
          const name = names.get(byte);
          const id = name === undefined ? undefined : /^g([0-9A-Fa-f]+)$/.exec(name)?.[1];
          if (id === undefined) throw new Error(`font ${resource}: code ${byte} names ${name ?? "no glyph"}, not g<hex glyph id>`);
          return { font: resource, subtype: "Type3", glyph: parseInt(id, 16) };
        }),
    };
  }
  throw new Error(`font ${resource}: subtype ${String(subtype)} is not read`);
}

function lookupDict(context: PDFContext, object: PDFObject | undefined): PDFDict | undefined {
  const value = context.lookup(object);
  return value instanceof PDFDict ? value : undefined;
}

function lookupArray(context: PDFContext, object: PDFObject | undefined): PDFArray | undefined {
  const value = context.lookup(object);
  return value instanceof PDFArray ? value : undefined;
}

function streamBytes(stream: PDFStream): Uint8Array {
  return stream instanceof PDFRawStream ? decodePDFRawStream(stream).decode() : stream.getContents();
}

// ---------------------------------------------------------------------------------------------
// Content stream tokens (ISO 32000-1, 7.2 and 7.8): enough to find text operators and their strings.

class Operator {
  constructor(readonly name: string) {}
}
class Name {
  constructor(readonly value: string) {}
}
type Operand = Uint8Array | Name | number | Operand[] | null;

const WHITESPACE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIMITERS = new Set([...WHITESPACE, 0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);

function* tokens(bytes: Uint8Array): Generator<Operator | Operand> {
  let i = 0;
  const arrays: Operand[][] = [];
  const emit = function* (token: Operator | Operand): Generator<Operator | Operand> {
    if (arrays.length > 0 && !(token instanceof Operator)) arrays.at(-1)!.push(token);
    else yield token;
  };
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (WHITESPACE.has(c)) {
      i++;
    } else if (c === 0x25) {
      while (i < bytes.length && bytes[i] !== 0x0a && bytes[i] !== 0x0d) i++; // % comment
    } else if (c === 0x28) {
      const [string, end] = literalString(bytes, i);
      i = end;
      yield* emit(string);
    } else if (c === 0x3c && bytes[i + 1] === 0x3c) {
      i += 2; // "<<" of an inline dictionary (a marked-content property list): its tokens are operands
    } else if (c === 0x3e && bytes[i + 1] === 0x3e) {
      i += 2;
    } else if (c === 0x3c) {
      const end = bytes.indexOf(0x3e, i);
      const hex = Buffer.from(bytes.subarray(i + 1, end))
        .toString("latin1")
        .replace(/\s+/g, "");
      i = end + 1;
      yield* emit(Buffer.from(hex.length % 2 === 0 ? hex : `${hex}0`, "hex"));
    } else if (c === 0x5b) {
      arrays.push([]);
      i++;
    } else if (c === 0x5d) {
      const array = arrays.pop() ?? [];
      i++;
      yield* emit(array);
    } else if (c === 0x2f) {
      let end = i + 1;
      while (end < bytes.length && !DELIMITERS.has(bytes[end]!)) end++;
      yield* emit(new Name(Buffer.from(bytes.subarray(i + 1, end)).toString("latin1")));
      i = end;
    } else {
      let end = i + 1;
      while (end < bytes.length && !DELIMITERS.has(bytes[end]!)) end++;
      const word = Buffer.from(bytes.subarray(i, end)).toString("latin1");
      i = end;
      if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) yield* emit(Number(word));
      else if (word === "true" || word === "false" || word === "null") yield* emit(null);
      else if (word === "BI") {
        // Inline image: its data is binary, up to whitespace + "EI".
        const data = Buffer.from(bytes).indexOf("ID", i, "latin1");
        const close = Buffer.from(bytes).indexOf("EI", data + 3, "latin1");
        if (data < 0 || close < 0) throw new Error("unterminated inline image");
        i = close + 2;
      } else yield new Operator(word);
    }
  }
}

/** A literal string `( … )` starting at `start`: its bytes and the index after it. */
function literalString(bytes: Uint8Array, start: number): [Uint8Array, number] {
  const out: number[] = [];
  let depth = 0;
  let i = start;
  for (;;) {
    const c = bytes[i++];
    if (c === undefined) throw new Error("unterminated string");
    if (c === 0x28) {
      if (depth++ > 0) out.push(c);
    } else if (c === 0x29) {
      if (--depth === 0) return [Uint8Array.from(out), i];
      out.push(c);
    } else if (c === 0x5c) {
      const e = bytes[i++]!;
      const simple: Record<number, number> = {
        0x6e: 0x0a,
        0x72: 0x0d,
        0x74: 0x09,
        0x62: 0x08,
        0x66: 0x0c,
        0x28: 0x28,
        0x29: 0x29,
        0x5c: 0x5c,
      };
      if (e in simple) out.push(simple[e]!);
      else if (e >= 0x30 && e <= 0x37) {
        let value = e - 0x30;
        for (let k = 0; k < 2 && bytes[i]! >= 0x30 && bytes[i]! <= 0x37; k++) value = value * 8 + (bytes[i++]! - 0x30);
        out.push(value & 0xff);
      } else if (e === 0x0d) {
        if (bytes[i] === 0x0a) i++; // line continuation
      } else if (e !== 0x0a) out.push(e);
    } else out.push(c);
  }
}
