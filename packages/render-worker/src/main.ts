import { configOrExit, createLogger, loadWorkerConfig, stopOnSignals } from "@ticketgen/shared";
import { startRenderWorker } from "./render-worker.ts";

const config = configOrExit("render-worker", () => loadWorkerConfig());
const logger = createLogger("render-worker", config.logLevel);
// Signals are handled from the start: a SIGTERM that lands while the worker is still starting
// (it may already hold a job) drains it instead of killing the process.
const worker = startRenderWorker(config, logger);
stopOnSignals(logger, async () => (await worker).stop());
await worker;
