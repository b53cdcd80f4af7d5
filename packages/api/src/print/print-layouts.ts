import type { SheetLayout } from "@ticketgen/shared";
import { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";

const MM = 72 / 25.4;
const A4 = { width: 210 * MM, height: 297 * MM };
const LETTER = { width: 8.5 * 72, height: 11 * 72 };
const landscape = (paper: { width: number; height: number }) => ({ width: paper.height, height: paper.width });

/**
 * What a download draws for a layout: the stored PDFs as they are, the stored pages imposed on
 * sheets, or cards drawn from the tickets' data (badges, labels).
 */
export type PrintPlan = { kind: "stored" } | { kind: "imposed"; sheet: SheetLayout } | { kind: "cards"; layout: CardLayout };

/** Cards drawn by the API: one badge per page, or a sheet of labels. */
export interface CardLayout {
  name: "badge" | "label";
  /** Sheet size in points. */
  width: number;
  height: number;
  columns: number;
  rows: number;
  /** Each card's size, in points: cards touch, as on a sheet of labels. */
  cardWidth: number;
  cardHeight: number;
  /** Where the top left card starts, from the sheet's left and top edges, in points. */
  left: number;
  top: number;
}

const PLANS: Record<PrintLayout, PrintPlan> = {
  [PrintLayout.UNSPECIFIED]: { kind: "stored" },
  [PrintLayout.A4]: { kind: "stored" },
  [PrintLayout.A4_2UP]: { kind: "imposed", sheet: { ...landscape(A4), columns: 2, rows: 1, cutMarks: true } },
  [PrintLayout.A4_4UP]: { kind: "imposed", sheet: { ...A4, columns: 2, rows: 2, cutMarks: true } },
  [PrintLayout.LETTER]: { kind: "imposed", sheet: { ...LETTER, columns: 1, rows: 1, cutMarks: false } },
  [PrintLayout.LETTER_2UP]: { kind: "imposed", sheet: { ...landscape(LETTER), columns: 2, rows: 1, cutMarks: true } },
  [PrintLayout.BADGE_A6]: {
    kind: "cards",
    layout: {
      name: "badge",
      width: 105 * MM,
      height: 148 * MM,
      columns: 1,
      rows: 1,
      cardWidth: 105 * MM,
      cardHeight: 148 * MM,
      left: 0,
      top: 0,
    },
  },
  // The common 3 × 8 sheet of 70 × 37 mm labels (e.g. Avery 3474): no gaps, 0.5 mm top and bottom.
  [PrintLayout.LABELS_A4_3X8]: {
    kind: "cards",
    layout: { name: "label", ...A4, columns: 3, rows: 8, cardWidth: 70 * MM, cardHeight: 37 * MM, left: 0, top: 0.5 * MM },
  },
};

/** The plan of a validated layout (validation refuses values outside the enum). */
export function printPlan(layout: PrintLayout): PrintPlan {
  return PLANS[layout];
}
