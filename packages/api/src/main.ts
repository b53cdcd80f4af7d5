import { ConfigError, createLogger, loadConfig } from "@ticketgen/shared";
import { startApi } from "./app.ts";

const logger = createLogger("api");
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // Plain text on stderr: read by a person fixing the deployment, not by a log pipeline.
  process.stderr.write(`ticketgen api: ${error.message}\n`);
  process.exit(78);
}
logger.level = config.logLevel;
const app = await startApi(config, logger);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ action: "draining", signal }, "draining: finishing in-flight calls");
    app.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, "unclean shutdown");
        process.exit(1);
      },
    );
  });
}
