import { ConfigError } from "./config.ts";
import type { Logger } from "./logger.ts";

/** Loads configuration or exits 78 (EX_CONFIG) with the problems as plain text on stderr. */
export function configOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Read by a person fixing the deployment, not by a log pipeline.
    process.stderr.write(`ticketgen ${service}: ${error.message}\n`);
    process.exit(78);
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
