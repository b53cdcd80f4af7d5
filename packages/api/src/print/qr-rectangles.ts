import QRCode from "qrcode";

/** A QR code as PDF rectangle operators, one unit per module from the top left, quiet zone included. */
export interface QrRectangles {
  /** `x y width height re` for each run of dark modules; fill them with `f`. */
  operators: string;
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
 * The QR code of `token` at level H, as the worker draws it on tickets. Each row's runs of dark
 * modules are one rectangle: a few hundred operators instead of one per module.
 */
export function qrRectangles(token: string): QrRectangles {
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
      parts.push(`${start + QUIET_ZONE} ${row + QUIET_ZONE} ${column - start} ${ROW_HEIGHT} re`);
    }
  }
  return { operators: parts.join("\n"), size: modules.size + 2 * QUIET_ZONE };
}
