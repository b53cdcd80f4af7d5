import { ConfigError, createLogger, loadConfig } from "@ticketgen/shared";
import { startApi } from "./app.ts";

const logger = createLogger("api");
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  logger.fatal({ action: "config_invalid" }, error.message);
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
