import type { Logger } from "./logger.ts";
import { ConfigError } from "./config.ts";
import { EXIT_SOFTWARE, firstLine, StartupError } from "./startup-error.ts";

/**
 * The one way a service that cannot start ends: `ticketgen <service>: <why>` on stderr, one line
 * per problem, read by a person fixing the deployment rather than by a log pipeline; the stack
 * only under LOG_LEVEL=debug or trace (read here, since an invalid configuration has no level);
 * exit 78 for configuration, 69 for an unreachable dependency, 70 for anything unforeseen.
 */
export function exitStartupFailed(service: string, error: unknown): never {
  const [message, code] =
    error instanceof StartupError
      ? [error.message, error.exitCode]
      : [`start-up failed: ${firstLine(error)} (LOG_LEVEL=debug prints the stack)`, EXIT_SOFTWARE];
  process.stderr.write(`ticketgen ${service}: ${message}\n`);
  // An invalid setting has no code path worth showing.
  const debug = ["debug", "trace"].includes(process.env.LOG_LEVEL?.trim() ?? "");
  if (debug && !(error instanceof ConfigError)) process.stderr.write(`${stacks(error)}\n`);
  process.exit(code);
}

/**
 * The stacks of an error and its causes, without their other properties: ioredis' errors carry
 * the failed command's arguments (an AUTH's password).
 */
function stacks(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined; depth++) {
    lines.push(`${depth === 0 ? "" : "caused by: "}${current instanceof Error ? current.stack : String(current)}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines.join("\n");
}

/** Loads configuration or exits 78 (EX_CONFIG) with the problems as plain text on stderr. */
export function configOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    exitStartupFailed(service, error);
  }
}

/** Runs a service's start-up; whatever stops it ends the process through exitStartupFailed. */
export async function startOrExit<T>(service: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    exitStartupFailed(service, error);
  }
}

/** SIGTERM / SIGINT run `stop` once, then exit 0 (1 if stopping failed). */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ action: "draining", signal }, `${signal}: draining`);
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "unclean shutdown");
          process.exit(1);
        },
      );
    });
  }
}
