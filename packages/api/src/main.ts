import { configOrExit, createLogger, loadConfig, stopOnSignals } from "@ticketgen/shared";
import { startApi } from "./app.ts";

const config = configOrExit("api", () => loadConfig());
const logger = createLogger("api", config.logLevel);
// Signals are handled from the start, so a SIGTERM during start-up still drains cleanly.
const app = startApi(config, logger);
stopOnSignals(logger, async () => (await app).stop());
await app;
