export { startRenderWorker, type RenderWorker } from "./render-worker.ts";
export { BrowserPool, RenderTimeoutError, type BrowserPoolOptions } from "./browser/browser-pool.ts";
export { TicketRenderer, type TicketRendererOptions } from "./pipeline/ticket-renderer.ts";
export { CHROMIUM_ARGS, chromiumSandbox } from "./browser/chromium.ts";
export { CONTENT_SECURITY_POLICY } from "./browser/policy-document.ts";
export { TemplateRegistry, TemplateSandbox } from "./templates/index.ts";
export { ResultReporter } from "./results/result-reporter.ts";
