import { PDFArray, PDFDict, PDFName, PDFString, type PDFDocument } from "pdf-lib";
import { loadPdf } from "./page-copier.ts";
import { K, LANG, ROLE_MAP, roleMap, STRUCT_TREE_ROOT } from "./structure.ts";

/** What a reader shows about a document: its metadata and language. */
export interface PdfDocumentInfo {
  /** Shown as the window title (ViewerPreferences /DisplayDocTitle). */
  title: string;
  author: string;
  subject: string;
  keywords: readonly string[];
  /** BCP 47 language tag of the document's text (catalog /Lang). */
  lang: string;
  creationDate: Date;
}

/** Names this project in /Producer, before the engine that drew the pages (Chromium's Skia). */
export const PRODUCER = "ticketgen";
const METADATA = PDFName.of("Metadata");

/**
 * Sets the Info dictionary, an XMP metadata stream with the same fields (what PDF/UA readers
 * and indexers read), the catalog's /Lang, /DisplayDocTitle, and the role map of a tagged
 * document's structure tree.
 */
export function applyDocumentInfo(doc: PDFDocument, info: PdfDocumentInfo): void {
  const engine = doc.getProducer();
  const producer = engine && !engine.startsWith(PRODUCER) ? `${PRODUCER} (${engine})` : PRODUCER;
  doc.setTitle(info.title, { showInWindowTitleBar: true });
  doc.setAuthor(info.author);
  doc.setSubject(info.subject);
  doc.setKeywords([...info.keywords]);
  doc.setCreator(PRODUCER);
  doc.setProducer(producer);
  doc.setCreationDate(info.creationDate);
  doc.setModificationDate(info.creationDate);
  doc.setLanguage(info.lang);
  const xmp = new TextEncoder().encode(xmpPacket(info, producer));
  doc.catalog.set(METADATA, doc.context.register(doc.context.stream(xmp, { Type: "Metadata", Subtype: "XML" })));
  const structTreeRoot = doc.context.lookup(doc.catalog.get(STRUCT_TREE_ROOT));
  if (structTreeRoot instanceof PDFDict) {
    structTreeRoot.set(ROLE_MAP, roleMap(doc.context, doc.context.lookup(structTreeRoot.get(ROLE_MAP)) as PDFDict | undefined));
    // Chromium copies <html lang> onto the top-level element too; in a page split from a chunk's
    // document, that is the first ticket's language, which the document's must override.
    const kids = doc.context.lookup(structTreeRoot.get(K));
    for (const kid of kids instanceof PDFArray ? kids.asArray() : [kids]) {
      const element = doc.context.lookup(kid);
      if (element instanceof PDFDict && element.get(LANG) !== undefined) element.set(LANG, PDFString.of(info.lang));
    }
  }
}

/** `pdf` with {@link applyDocumentInfo}, saved with object streams (smaller than Chromium's classic xref). */
export async function withDocumentInfo(pdf: Uint8Array, info: PdfDocumentInfo): Promise<Uint8Array> {
  const doc = await loadPdf(pdf);
  applyDocumentInfo(doc, info);
  return doc.save({ useObjectStreams: true, objectsPerTick: Infinity });
}

/**
 * The XMP packet of the document's metadata. Written by hand: a dozen fixed elements, where an
 * XMP library would bring a dependency for no logic it owns.
 */
function xmpPacket(info: PdfDocumentInfo, producer: string): string {
  const date = info.creationDate.toISOString();
  const alt = (text: string) => `<rdf:Alt><rdf:li xml:lang="x-default">${xml(text)}</rdf:li></rdf:Alt>`;
  return [
    `<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>`,
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`,
    `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">`,
    `<dc:format>application/pdf</dc:format>`,
    `<dc:title>${alt(info.title)}</dc:title>`,
    `<dc:creator><rdf:Seq><rdf:li>${xml(info.author)}</rdf:li></rdf:Seq></dc:creator>`,
    `<dc:description>${alt(info.subject)}</dc:description>`,
    `<dc:subject><rdf:Bag>${info.keywords.map((keyword) => `<rdf:li>${xml(keyword)}</rdf:li>`).join("")}</rdf:Bag></dc:subject>`,
    `<dc:language><rdf:Bag><rdf:li>${xml(info.lang)}</rdf:li></rdf:Bag></dc:language>`,
    `<pdf:Keywords>${xml(info.keywords.join(", "))}</pdf:Keywords>`,
    `<pdf:Producer>${xml(producer)}</pdf:Producer>`,
    `<xmp:CreatorTool>${PRODUCER}</xmp:CreatorTool>`,
    `<xmp:CreateDate>${date}</xmp:CreateDate>`,
    `<xmp:ModifyDate>${date}</xmp:ModifyDate>`,
    `</rdf:Description></rdf:RDF></x:xmpmeta>`,
    `<?xpacket end="r"?>`,
  ].join("\n");
}

/** Escapes text for XML content, dropping the control characters XML 1.0 cannot carry at all. */
function xml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- exactly the characters XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
      .replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
  );
}
