import sharp, { type Metadata } from "sharp";
import type { AssetType } from "./asset-types.ts";

/**
 * Longest side, in pixels, a stored raster image keeps: a full A6 ticket (105 × 148 mm) at
 * 300 dpi is 1240 × 1748 px, so 2,000 px prints sharp on any ticket; larger images only cost
 * the workers' memory and every PDF's size.
 */
export const MAX_PRINT_EDGE = 2000;
/**
 * Decoding stops beyond this many pixels (about 7,000 × 7,000): a few compressed megabytes can
 * claim billions of pixels, which would take the API's memory.
 */
export const MAX_INPUT_PIXELS = 50_000_000;

export class UnreadableImageError extends Error {}

/**
 * A raster image no larger than print needs, in its own format: returned as given when it fits,
 * else turned upright (EXIF orientation, which re-encoding drops) and shrunk to MAX_PRINT_EDGE
 * on its longest side, keeping its colour profile. Throws UnreadableImageError when sharp
 * cannot read it.
 */
export async function fitForPrint(data: Buffer, type: AssetType): Promise<Buffer> {
  const options = { limitInputPixels: MAX_INPUT_PIXELS };
  let metadata: Metadata;
  try {
    metadata = await sharp(data, options).metadata();
  } catch (error) {
    throw new UnreadableImageError((error as Error).message);
  }
  const width = metadata.autoOrient?.width ?? metadata.width ?? 0;
  const height = metadata.autoOrient?.height ?? metadata.height ?? 0;
  if (type === "image/svg+xml" || Math.max(width, height) <= MAX_PRINT_EDGE) return data;
  const resized = sharp(data, options)
    .autoOrient()
    .resize({ width: MAX_PRINT_EDGE, height: MAX_PRINT_EDGE, fit: "inside" })
    .keepIccProfile();
  try {
    if (type === "image/png") return await resized.png({ compressionLevel: 9 }).toBuffer();
    if (type === "image/webp") return await resized.webp({ quality: 90 }).toBuffer();
    return await resized.jpeg({ quality: 90 }).toBuffer();
  } catch (error) {
    throw new UnreadableImageError((error as Error).message);
  }
}
