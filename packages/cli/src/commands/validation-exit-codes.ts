import { ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { validationResultName } from "../output/format.ts";

/**
 * A refusal exits with 10 + its ValidationResult number (proto/ticketgen/v1/ticket.proto), so a
 * door script can branch on the status alone. Every other failure of the CLI (usage, an
 * unreachable server, a call the server refuses) exits 1, and Ctrl-C 130: neither is in 10-99.
 */
const REFUSAL_BASE = 10;

export function validationExitCode(result: ValidationResult): number {
  return result === ValidationResult.VALID ? 0 : REFUSAL_BASE + result;
}

const verdicts = () =>
  Object.values(ValidationResult)
    .filter((value): value is ValidationResult => typeof value === "number")
    .sort((a, b) => validationExitCode(a) - validationExitCode(b));

/** The exit status table for `ticket validate --help`, generated from the verdict enum. */
export function validationExitCodesHelp(): string {
  const rows: Array<[number, string]> = verdicts().map((result) => [
    validationExitCode(result),
    result === ValidationResult.UNSPECIFIED ? "no verdict in the answer (UNSPECIFIED)" : validationResultName(result),
  ]);
  rows.splice(1, 0, [1, "no verdict: usage error, server unreachable, or the call refused (e.g. UNAUTHENTICATED)"]);
  return ["", "Exit status:", ...rows.map(([code, meaning]) => `  ${String(code).padEnd(3)} ${meaning}`)].join("\n");
}
