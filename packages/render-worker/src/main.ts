import { configOrExit, createLogger, loadWorkerConfig, redisAnswers, startOrExit, stopOnSignals } from "@ticketgen/shared";
import { startRenderWorker } from "./render-worker.ts";

const config = configOrExit("render-worker", () => loadWorkerConfig());
const logger = createLogger("render-worker", config.logLevel);
// Signals are handled from the start: a SIGTERM while Redis is awaited ends the wait.
const worker = startOrExit("render-worker", async () => {
  await redisAnswers(config, config.redisStartupTimeoutMs, (why) =>
    logger.warn({ action: "waiting_for_redis" }, `${why}; waiting up to ${config.redisStartupTimeoutMs} ms (REDIS_STARTUP_TIMEOUT_MS)`),
  );
  return startRenderWorker(config, logger);
});
stopOnSignals(logger, config.shutdownTimeoutMs, worker);
await worker;
