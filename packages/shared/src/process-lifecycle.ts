import type { Logger } from "./logger.ts";
import { ConfigError } from "./config.ts";
import { EXIT_SOFTWARE, firstLine, StartupError } from "./startup-error.ts";
import { STOP_MARGIN_MS } from "./stop-deadline.ts";

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

/** A stop cut short: it failed, or was still running when its deadline passed. */
export const EXIT_STOP_FORCED = 1;
/** How long past its deadline a stop may run before the process ends without it: its own steps give up first. */
const FORCED_EXIT_SLACK_MS = 500;

/**
 * SIGTERM / SIGINT stop the service once, whatever its dependencies do. A service still starting
 * has taken no work yet: it exits 0 at once. A started one runs its `stop`: exit 0 once it is
 * over, EXIT_STOP_FORCED (1) if it fails or is still running past SHUTDOWN_TIMEOUT_MS +
 * STOP_MARGIN_MS. Ending the process releases what a stop abandoned: the kernel closes its
 * sockets, Playwright's exit handler kills Chromium.
 */
export function stopOnSignals(logger: Logger, shutdownTimeoutMs: number, service: Promise<{ stop(): Promise<void> }>): void {
  let started: { stop(): Promise<void> } | undefined;
  service.then(
    (running) => (started = running),
    () => {},
  );
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      if (!started) {
        logger.info({ action: "stopped_starting", signal }, `${signal} during start-up: nothing to drain`);
        process.exit(0);
      }
      logger.info({ action: "draining", signal }, `${signal}: draining`);
      const deadlineMs = shutdownTimeoutMs + STOP_MARGIN_MS;
      setTimeout(() => {
        logger.error(
          { action: "stop_forced" },
          `still stopping ${deadlineMs} ms after ${signal} (SHUTDOWN_TIMEOUT_MS + ${STOP_MARGIN_MS}); exiting`,
        );
        process.exit(EXIT_STOP_FORCED);
      }, deadlineMs + FORCED_EXIT_SLACK_MS);
      started.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "unclean shutdown");
          process.exit(EXIT_STOP_FORCED);
        },
      );
    });
  }
}
