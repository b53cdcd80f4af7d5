import { Code, ConnectError } from "@connectrpc/connect";
import sharp from "sharp";
import type { AssetRepository } from "../assets/asset-repository.ts";
// Stored images are within PutAsset's bound, so here it only guards against a row written otherwise.
import { MAX_INPUT_PIXELS } from "../assets/print-images.ts";

/** The asset the built-in templates show in a ticket's header, and badges and labels at their top. */
export const LOGO_ASSET_ID = "logo";

const MM = 72 / 25.4;
/** The largest box a card draws the logo in (the badge's, under its top margin), in points. */
export const LOGO_BOX = { width: 85 * MM, height: 14 * MM };
/** Print resolution: the logo is brought to this many pixels an inch in LOGO_BOX, never enlarged. */
const PRINT_DPI = 300;
const BOX_PIXELS = { width: Math.ceil((LOGO_BOX.width / 72) * PRINT_DPI), height: Math.ceil((LOGO_BOX.height / 72) * PRINT_DPI) };

/** A logo as pdf-lib embeds it: PNG (alpha kept) or JPEG, no larger than print needs. */
export interface CardLogo {
  format: "png" | "jpeg";
  data: Buffer;
}

/**
 * The image asset as a card logo: upright, in sRGB, fit inside LOGO_BOX at PRINT_DPI. WebP and
 * SVG become PNG (pdf-lib embeds only PNG and JPEG; SVG is rasterised at the density that
 * fills the box, not scaled up from its nominal size); JPEG stays JPEG. Made once per download,
 * so that each document of cards embeds a small image, whatever size was stored.
 */
export async function cardLogoOf(data: Buffer, contentType: string): Promise<CardLogo> {
  let density: number | undefined;
  if (contentType === "image/svg+xml") {
    const { width = 0, height = 0 } = await sharp(data).metadata();
    const scale = width > 0 && height > 0 ? Math.min(BOX_PIXELS.width / width, BOX_PIXELS.height / height) : 1;
    // librsvg accepts 1 to 100,000 dpi; 72 dpi is the SVG's nominal size.
    density = Math.min(100_000, Math.max(1, 72 * scale));
  }
  const image = sharp(data, { limitInputPixels: MAX_INPUT_PIXELS, density })
    .autoOrient()
    .resize({ ...BOX_PIXELS, fit: "inside", withoutEnlargement: true })
    .toColourspace("srgb");
  return contentType === "image/jpeg"
    ? { format: "jpeg", data: await image.jpeg({ quality: 90 }).toBuffer() }
    : { format: "png", data: await image.png({ compressionLevel: 9 }).toBuffer() };
}

/** The tenant's logo for badges and labels: its image asset named LOGO_ASSET_ID, if it has one. */
export class TenantLogos {
  constructor(private readonly assets: AssetRepository) {}

  async of(tenantId: string): Promise<CardLogo | undefined> {
    const asset = await this.assets.find(tenantId, LOGO_ASSET_ID);
    // A font stored under the name is not a logo.
    if (!asset?.contentType.startsWith("image/")) return undefined;
    try {
      return await cardLogoOf(asset.data, asset.contentType);
    } catch (error) {
      throw new ConnectError(
        `the "${LOGO_ASSET_ID}" asset (${asset.contentType}) cannot be drawn on a badge or label (${(error as Error).message}); replace it with PutAsset or delete it`,
        Code.FailedPrecondition,
      );
    }
  }
}
