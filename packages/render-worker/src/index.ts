export { startRenderWorker, type RenderWorker } from "./render-worker.ts";
export { BrowserPool, RenderTimeoutError, type BrowserPoolOptions } from "./browser/browser-pool.ts";
export { TicketRenderer } from "./pipeline/ticket-renderer.ts";
