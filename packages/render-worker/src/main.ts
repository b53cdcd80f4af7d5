import { configOrExit, createLogger, loadWorkerConfig, stopOnSignals } from "@ticketgen/shared";
import { startRenderWorker } from "./render-worker.ts";

const config = configOrExit("render-worker", () => loadWorkerConfig());
const logger = createLogger("render-worker", config.logLevel);
const worker = await startRenderWorker(config, logger);
stopOnSignals(logger, () => worker.stop());
