import QRCode from "qrcode";

export interface QrSvgOptions {
  /** Rendered width and height in CSS px (QR_SIZE). */
  size: number;
  /** Quiet zone in modules (QR_MARGIN). */
  margin: number;
  /** Accessible name of the image; default "Ticket QR code". */
  label?: string;
}

/**
 * Declarations a template stylesheet could use to make the code unscannable. A stylesheet rule
 * (even `!important`, even in a cascade layer) loses to an inline `style="… !important"`, so
 * these pin the QR to black modules on a white square of exactly the requested size.
 * What they cannot stop: effects applied to an ANCESTOR of the svg (`filter`, `opacity`, a
 * transform, `zoom`) and a stylesheet overriding path geometry through the CSS `d` property.
 */
const COMMON = [
  "opacity:1",
  "visibility:visible",
  "filter:none",
  "transform:none",
  "clip-path:none",
  "mask:none",
  "mix-blend-mode:normal",
  "-webkit-print-color-adjust:exact",
  "print-color-adjust:exact",
];

const SVG_STYLE = (size: number) => [
  "display:inline-block",
  `width:${size}px`,
  `height:${size}px`,
  `min-width:${size}px`,
  `min-height:${size}px`,
  `max-width:${size}px`,
  `max-height:${size}px`,
  "box-sizing:content-box",
  "border:0",
  "outline:0",
  "background:#fff",
  "color:#000",
  "zoom:1",
  "overflow:hidden",
  ...COMMON,
];

const PATH_COMMON = [
  ...COMMON,
  "display:inline",
  "stroke-dasharray:none",
  "stroke-dashoffset:0",
  "stroke-linecap:butt",
  "stroke-linejoin:miter",
  "stroke-opacity:1",
  "fill-opacity:1",
  "paint-order:normal",
  "vector-effect:none",
  "marker:none",
  "shape-rendering:crispEdges",
];

const BACKGROUND_STYLE = ["fill:#fff", "stroke:none", ...PATH_COMMON];
const MODULES_STYLE = ["fill:none", "stroke:#000", "stroke-width:1px", ...PATH_COMMON];

function important(declarations: readonly string[]): string {
  return declarations.map((declaration) => `${declaration}!important`).join(";");
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const VIEWBOX = /viewBox="0 0 (\d+) \1"/;
const PATH_D = /<path [^>]*?\bd="([^"]*)"/g;

/**
 * The QR code of `token` as inline SVG markup (level H): black modules on white, `size` px
 * square, `margin` modules of quiet zone, hardened against the template's stylesheet.
 */
export async function qrSvg(token: string, options: QrSvgOptions): Promise<string> {
  const { size, margin } = options;
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`qrSvg: size must be a positive integer (px), got ${size}`);
  if (!Number.isInteger(margin) || margin < 0) throw new RangeError(`qrSvg: margin must be a non-negative integer, got ${margin}`);
  const raw = await QRCode.toString(token, { type: "svg", errorCorrectionLevel: "H", margin, width: size });

  // qrcode draws `<svg … viewBox="0 0 N N" …><path fill=… d="background"/><path stroke=… d="modules"/></svg>`;
  // rebuild the element around those two paths so every attribute and style is ours.
  const viewBox = VIEWBOX.exec(raw);
  const paths = [...raw.matchAll(PATH_D)].map((match) => match[1] ?? "");
  const modules = paths.at(-1);
  if (!viewBox || paths.length !== 2 || !modules) throw new Error("qrSvg: unexpected SVG from the qrcode package");
  const n = viewBox[1];
  const label = escapeXml(options.label ?? "Ticket QR code");

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${n} ${n}"` +
    ` preserveAspectRatio="xMidYMid meet" shape-rendering="crispEdges" role="img" aria-label="${label}"` +
    ` style="${important(SVG_STYLE(size))}">` +
    `<path fill="#ffffff" stroke="none" d="M0 0h${n}v${n}H0z" style="${important(BACKGROUND_STYLE)}"/>` +
    `<path fill="none" stroke="#000000" stroke-width="1" d="${modules}" style="${important(MODULES_STYLE)}"/>` +
    `</svg>`
  );
}
