import { deflateSync } from "node:zlib";
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFName,
  PDFObjectCopier,
  PDFRawStream,
  type PDFDocument,
  type PDFStream,
  type PDFPage,
  type PDFRef,
} from "pdf-lib";

/** A page of another document, copied into a document as a form XObject. */
export interface FormXObject {
  ref: PDFRef;
  width: number;
  height: number;
}

const FILTER = PDFName.of("Filter");
const FLATE = PDFName.of("FlateDecode");
const DECODE_PARMS = PDFName.of("DecodeParms");
const NEWLINE = Uint8Array.of(0x0a);

/**
 * The pages (all of one document) as form XObjects of `out`, sharing one copy of their
 * resources (fonts, images). What pdf-lib's embedPages does, minus two costs: it inflates every
 * content stream and deflates it again in JavaScript, and it copies the pages' content streams
 * and annotations into `out` as objects nothing uses. A page whose content is one Flate stream
 * (as Chromium writes it) keeps its bytes as they are. Annotations (links) are not carried.
 */
export function formXObjects(out: PDFDocument, pages: readonly PDFPage[]): FormXObject[] {
  const first = pages[0];
  if (!first) return [];
  const copier = PDFObjectCopier.for(first.doc.context, out.context);
  return pages.map((page) => {
    const { x, y, width, height } = page.getMediaBox();
    const form = out.context.stream(flateContents(page.node.Contents()), {
      Type: "XObject",
      Subtype: "Form",
      FormType: 1,
      BBox: [x, y, x + width, y + height],
      Matrix: [1, 0, 0, 1, -x, -y],
      Resources: copier.copy(page.node.Resources() ?? PDFDict.withContext(out.context)),
      Filter: "FlateDecode",
    });
    return { ref: out.context.register(form), width, height };
  });
}

function flateContents(contents: PDFArray | PDFStream | undefined): Uint8Array {
  const streams =
    contents instanceof PDFArray
      ? Array.from({ length: contents.size() }, (_, i) => contents.lookup(i, PDFRawStream))
      : contents instanceof PDFRawStream
        ? [contents]
        : [];
  const only = streams.length === 1 ? streams[0]! : undefined;
  if (only && only.dict.get(FILTER) === FLATE && !only.dict.has(DECODE_PARMS)) return only.contents;
  return deflateSync(Buffer.concat(streams.flatMap((stream) => [decodePDFRawStream(stream).decode(), NEWLINE])));
}
