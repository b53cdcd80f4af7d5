import { configOrExit, createLogger, loadConfig, stopOnSignals } from "@ticketgen/shared";
import { startApi } from "./app.ts";

const config = configOrExit("api", () => loadConfig());
const logger = createLogger("api", config.logLevel);
const app = await startApi(config, logger);
stopOnSignals(logger, () => app.stop());
