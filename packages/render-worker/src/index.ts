export { startRenderWorker, type RenderWorker } from "./render-worker.ts";
export { BrowserPool, RenderTimeoutError, type BrowserPoolOptions } from "./browser/browser-pool.ts";
export { TicketRenderer } from "./pipeline/ticket-renderer.ts";
export { CHROMIUM_ARGS } from "./browser/chromium.ts";
export { TemplateRegistry } from "./templates/index.ts";
