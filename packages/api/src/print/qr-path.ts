import QRCode from "qrcode";

/** A QR code as an SVG path of its dark modules, one unit per module, quiet zone included. */
export interface QrPath {
  path: string;
  /** Modules across, quiet zone included. */
  size: number;
}

/** The quiet zone a scanner needs around the code, in modules. */
const QUIET_ZONE = 4;
/**
 * Rows overlap by a twentieth of a module: rasterisers anti-alias the edges of abutting shapes
 * separately, which leaves faint light seams between rows that can stop a scanner.
 */
const ROW_HEIGHT = 1.05;

/**
 * The QR code of `token` at level H, as the worker draws it on tickets, for pdf-lib's
 * drawSvgPath: each row's runs of dark modules are one rectangle, so the page holds a few
 * hundred path segments instead of a rectangle per module.
 */
export function qrPath(token: string): QrPath {
  const { modules } = QRCode.create(token, { errorCorrectionLevel: "H" });
  const parts: string[] = [];
  for (let row = 0; row < modules.size; row++) {
    let column = 0;
    while (column < modules.size) {
      if (!modules.get(row, column)) {
        column++;
        continue;
      }
      const start = column;
      while (column < modules.size && modules.get(row, column)) column++;
      parts.push(`M${start + QUIET_ZONE} ${row + QUIET_ZONE}h${column - start}v${ROW_HEIGHT}h${start - column}z`);
    }
  }
  return { path: parts.join(""), size: modules.size + 2 * QUIET_ZONE };
}
