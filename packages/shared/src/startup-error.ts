/**
 * Exit codes of sysexits.h, which supervisors and operators already know: configuration to fix
 * (78), a dependency to bring up (69), a bug (70).
 */
export const EXIT_CONFIG = 78;
export const EXIT_UNAVAILABLE = 69;
export const EXIT_SOFTWARE = 70;

export type StartupExitCode = typeof EXIT_CONFIG | typeof EXIT_UNAVAILABLE;

/**
 * Why a service cannot start. The message is one line, `SETTING: what is wrong; what to do`,
 * naming the setting an operator changes (or the dependency to start); `cause` keeps the
 * original error for LOG_LEVEL=debug.
 */
export class StartupError extends Error {
  override name = "StartupError";
  constructor(
    message: string,
    readonly exitCode: StartupExitCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The first line of an error's message: libraries append logs and hints on further lines. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n", 1)[0]!.trim();
}
