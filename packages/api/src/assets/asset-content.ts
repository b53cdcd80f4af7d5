import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { ALLOWED_TYPES_TEXT, normaliseDeclaredType, sniffAssetType, type AssetType } from "./asset-types.ts";
import { fitForPrint, UnreadableImageError } from "./print-images.ts";
import { sanitiseSvg } from "./svg-sanitiser.ts";

/** What is stored for a PutAsset: the bytes after sanitising or downscaling, and what they are. */
export interface PreparedAsset {
  contentType: AssetType;
  data: Buffer;
  size: number;
  sha256: string;
}

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

/**
 * Checks a PutAsset's bytes and makes them what workers may draw: the type comes from the bytes
 * (a declared content_type must agree), SVGs are sanitised, raster images shrunk to print size.
 * Fonts are stored as sent: Chromium checks every web font with its OpenType sanitiser.
 */
export async function prepareAsset(input: Uint8Array, declaredType: string, maxBytes: number): Promise<PreparedAsset> {
  if (input.length > maxBytes) {
    throw invalid(`data: is ${input.length} bytes; assets may be at most ${maxBytes} bytes (MAX_ASSET_SIZE)`);
  }
  const declared = declaredType === "" ? undefined : normaliseDeclaredType(declaredType);
  if (declaredType !== "" && !declared) throw invalid(`content_type: "${declaredType}" is not allowed; allowed: ${ALLOWED_TYPES_TEXT}`);
  const sniffed = await sniffAssetType(input);
  if (!sniffed.type) {
    const found = sniffed.found ? `${sniffed.found}, ` : "of no type ticketgen recognises, ";
    throw invalid(`data: is ${found}which is not allowed; allowed: ${ALLOWED_TYPES_TEXT}`);
  }
  const contentType = sniffed.type;
  if (declared && declared !== contentType) throw invalid(`content_type: is ${declared} but data is ${contentType}`);
  let data = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (contentType === "image/svg+xml") {
    const sanitised = await sanitiseSvg(data.toString("utf8"));
    if (!sanitised) throw invalid("data: is an SVG with no <svg> element left once sanitised");
    data = sanitised;
  }
  if (contentType.startsWith("image/")) {
    try {
      data = await fitForPrint(data, contentType);
    } catch (error) {
      if (error instanceof UnreadableImageError) throw invalid(`data: is not a readable ${contentType} image (${error.message})`);
      throw error;
    }
  }
  return { contentType, data, size: data.length, sha256: createHash("sha256").update(data).digest("hex") };
}
