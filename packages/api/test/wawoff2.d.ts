declare module "wawoff2" {
  /** WOFF2 bytes of a TrueType or OpenType font. */
  export function compress(font: Uint8Array): Promise<Uint8Array>;
}
