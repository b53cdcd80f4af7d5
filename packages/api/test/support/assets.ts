import { deflateSync, crc32 } from "node:zlib";
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { compress } from "wawoff2";

/**
 * An RGB PNG of `width` × `height` pixels of deterministic noise: it does not compress, so its
 * size (about 3 bytes a pixel) is what a photographic logo of that size weighs in a PDF too.
 */
export function noisePng(width: number, height: number, seed = 1): Buffer {
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: reproducible noise without a dependency.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const raw = Buffer.alloc(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + 3 * width); // filter byte 0 (None), then the pixels
    for (let x = 0; x < 3 * width; x++) raw[row + 1 + x] = next() & 0xff;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method choice, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", deflateSync(raw)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A raster image of the given size and format, drawn by sharp (a gradient, so it is not trivially small). */
export function rasterImage(width: number, height: number, format: "png" | "jpeg" | "webp"): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#c00"/><stop offset="1" stop-color="#00c"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`;
  return sharp(Buffer.from(svg))[format]().toBuffer();
}

/** A TrueType font the machine has (setup.sh installs fonts-dejavu-core). */
export const DEJAVU_TTF = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
export const ttfFont = (path = DEJAVU_TTF): Buffer => readFileSync(path);
export const woff2Font = async (): Promise<Buffer> => Buffer.from(await compress(ttfFont()));

/** An SVG that tries everything the sanitiser must stop, around a drawing it must keep. */
export const HOSTILE_SVG = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="60" viewBox="0 0 120 60" onload="alert('onload')">
  <script>alert('script')</script>
  <style>@import url(https://evil.example/import.css); .imported { fill: red }</style>
  <style>.logo { fill: url(#brand) }</style>
  <style>.a { background: url("https://evil.example/style-url.png") }</style>
  <defs><linearGradient id="brand"><stop offset="0" stop-color="#123456"/><stop offset="1" stop-color="#abcdef"/></linearGradient>
    <circle id="dot" r="4"/></defs>
  <rect class="logo" width="120" height="60" fill="url(#brand)" onclick="alert('click')"/>
  <use href="#dot" x="10" y="10"/>
  <use xlink:href="https://evil.example/sprite.svg#dot"/>
  <image href="https://evil.example/track.png" width="5" height="5"/>
  <image href="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+" width="5" height="5"/>
  <image href="data:image/png;base64,iVBORw0KGgo=" width="5" height="5"/>
  <foreignObject width="50" height="50"><div xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://evil.example/frame"></iframe></div></foreignObject>
  <a href="javascript:alert('link')"><text x="5" y="50">Gala</text></a>
  <a xlink:href="https://evil.example/phish"><text x="60" y="50">Tickets</text></a>
  <rect width="3" height="3" style="fill: u\\72l(https://evil.example/escaped.svg#a)"/>
  <rect width="4" height="4" filter="url(https://evil.example/filter.svg#f)"/>
  <set attributeName="href" to="https://evil.example/set"/>
  <animate attributeName="href" values="javascript:alert('animate')"/>
  &leak;
</svg>`;
