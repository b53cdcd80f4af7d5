import {
  configOrExit,
  createLogger,
  EXIT_CONFIG,
  loadConfig,
  redisAnswers,
  StartupError,
  startOrExit,
  stopOnSignals,
} from "@ticketgen/shared";
import { startApi } from "./app.ts";

const config = configOrExit("api", () => loadConfig());
const logger = createLogger("api", config.logLevel);
// Redis down is no reason to stay down: TicketService works without it and the health service
// says what does not. A password Redis refuses is, since waiting will not fix it.
const redis = redisAnswers(config, config.redisCommandTimeoutMs, (why) =>
  logger.warn(
    { action: "redis_unavailable" },
    `${why}; starting without it: BatchService and TemplateService are NOT_SERVING until it answers`,
  ),
).catch((error: unknown) => {
  if (error instanceof StartupError && error.exitCode === EXIT_CONFIG) throw error;
});
// Signals are handled from the start, so a SIGTERM during start-up ends it.
const app = startOrExit("api", async () => (await Promise.all([startApi(config, logger), redis]))[0]);
stopOnSignals(logger, config.shutdownTimeoutMs, app);
await app;
