import { InvalidArgumentError, Option } from "commander";
import { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";

/** Layout names as the CLI prints enums: without the PRINT_LAYOUT_ prefix (A4, A4_4UP, BADGE_A6, …). */
const NAMES = Object.values(PrintLayout).filter(
  (value): value is string => typeof value === "string" && value !== PrintLayout[PrintLayout.UNSPECIFIED],
);

function layout(value: string): PrintLayout {
  const name = value.toUpperCase().replace(/^PRINT_LAYOUT_/, "");
  if (!NAMES.includes(name)) throw new InvalidArgumentError(`unknown layout; one of ${NAMES.join(", ")}`);
  return PrintLayout[name as keyof typeof PrintLayout];
}

/** `--layout`: how a downloaded PDF puts tickets on paper. */
export function layoutOption(): Option {
  return new Option(
    "--layout <layout>",
    `how tickets are put on paper: ${NAMES.join(", ")} (2UP/4UP: 2 or 4 tickets a sheet with cut marks; BADGE_A6: name badges; LABELS_A4_3X8: 70 × 37 mm labels)`,
  )
    .argParser(layout)
    .default(PrintLayout.A4, "A4");
}
