import { fileTypeFromBuffer } from "file-type";
import { ASSET_TYPES, type AssetType } from "@ticketgen/shared";

export type { AssetType };
export const ALLOWED_TYPES_TEXT = ASSET_TYPES.join(", ");

/** Other names clients send for the same types (browsers' and old servers' spellings). */
const ALIASES: Record<string, AssetType> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "image/svg": "image/svg+xml",
  "application/font-woff2": "font/woff2",
  "application/x-font-ttf": "font/ttf",
  "application/x-font-truetype": "font/ttf",
  "application/font-sfnt": "font/ttf",
  "font/sfnt": "font/ttf",
};

const isAssetType = (type: string): type is AssetType => (ASSET_TYPES as readonly string[]).includes(type);

/** A declared content type as one of ours (parameters and case ignored), or undefined. */
export function normaliseDeclaredType(declared: string): AssetType | undefined {
  const type = declared.split(";")[0]!.trim().toLowerCase();
  return isAssetType(type) ? type : ALIASES[type];
}

// After an optional BOM: the XML declaration, comments, processing instructions and a doctype
// (internal subset included), each followed by optional white space.
const SVG_PROLOGUE = /^\uFEFF?\s*(?:(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE(?:[^[>]|\[[\s\S]*?\])*>)\s*)*<svg[\s/>]/i;

/**
 * The type of `data` from its bytes; `found` names what it looks like when that is not ours.
 * file-type reads signatures (it sees an XML declaration, not what the document is), so SVG is
 * recognised here by its root element; the sanitiser then parses it properly.
 */
export async function sniffAssetType(data: Uint8Array): Promise<{ type: AssetType } | { type: undefined; found: string | undefined }> {
  const detected = await fileTypeFromBuffer(data);
  // file-type names any document with an XML declaration application/xml, SVGs included.
  if (detected && detected.mime !== "application/xml") {
    // An animated PNG is a PNG to every reader; print uses its first frame.
    const mime = detected.mime === "image/apng" ? "image/png" : detected.mime;
    return isAssetType(mime) ? { type: mime } : { type: undefined, found: detected.mime };
  }
  const head = Buffer.from(data.subarray(0, 64 * 1024)).toString("utf8");
  return SVG_PROLOGUE.test(head) ? { type: "image/svg+xml" } : { type: undefined, found: detected?.mime };
}
