import { Code, ConnectError } from "@connectrpc/connect";

/** A failure the user can act on, already worded for them; exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `InvalidArgument` → `INVALID_ARGUMENT`, the name gRPC tools and the README use. */
const codeName = (code: Code) => Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

interface SystemError extends Error {
  code?: string;
  syscall?: string;
}

/**
 * The socket-level error behind a failed call, if the server was never reached. Node reports a
 * connection tried on several addresses (IPv6 and IPv4 for `localhost`) as an AggregateError
 * with an empty message, so its first error stands for it.
 */
function networkCause(error: ConnectError): SystemError | undefined {
  let cause = error.cause;
  if (cause instanceof AggregateError) cause = cause.errors[0];
  return cause instanceof Error && typeof (cause as SystemError).syscall === "string" ? (cause as SystemError) : undefined;
}

/** One line, without the `ticketgen: ` prefix, for any error a command can end with. */
export function describeError(error: unknown, server: string): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof ConnectError) {
    const cause = error.code === Code.Unavailable ? networkCause(error) : undefined;
    if (cause) return `cannot reach the ticketgen server at ${server} (${cause.message})`;
    return `${codeName(error.code)}: ${oneLine(error.rawMessage)}`;
  }
  return oneLine(error instanceof Error ? error.message : String(error));
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EISDIR: "is a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOSPC: "no space left on the device",
};

/** Why a file could not be read or written, in words rather than errno names. */
export const fileProblem = (error: unknown) => FILE_PROBLEMS[(error as SystemError).code ?? ""] ?? (error as Error).message;

export const oneLine = (text: string) => text.trim().replace(/\s*\n\s*/g, "; ");
