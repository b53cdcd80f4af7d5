import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { BrowserPool } from "../browser/browser-pool.ts";
import { RenderTimeoutError } from "../browser/browser-pool.ts";
import type { BlockedRequest } from "../browser/policy-document.ts";
import { isTemplateError, TemplateLimitError } from "../templates/index.ts";

export type JobKind = "ticket" | "chunk" | "preview";

/** What an operator needs to see of a render worker: print times, failures, the browser pool. */
export class WorkerMetrics {
  readonly pdfDuration: Histogram<"job">;
  readonly renderFailures: Counter<"reason">;
  private readonly blockedRequests: Counter<"kind">;

  /** `assetFetches`: reads of asset bytes from Redis so far (AssetStore.fetches). */
  constructor(registry: Registry, pool: BrowserPool, assetFetches: () => number = () => 0) {
    this.pdfDuration = new Histogram({
      name: "pdf_generation_duration_seconds",
      help: "Time to draw a job's PDF(s): one ticket, a whole chunk (as one document, split), or a preview.",
      labelNames: ["job"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.renderFailures = new Counter({
      name: "render_failures_total",
      help: "Failed render attempts, by reason: template (fails for good), template_limit (a ticket past a template time, memory, output or page limit; fails for good), timeout, browser (crash), other.",
      labelNames: ["reason"],
      registers: [registry],
    });
    this.blockedRequests = new Counter({
      name: "render_blocked_requests_total",
      help: "Requests of rendered documents that got past the Content-Security-Policy and were refused by the worker (navigation: a meta refresh or link the policy cannot stop; subresource: should stay 0).",
      labelNames: ["kind"],
      registers: [registry],
    });
    let fetchesCounted = 0;
    new Counter({
      name: "asset_fetches_total",
      help: "Reads of asset bytes (logos, fonts) from Redis: one per content hash while it stays in the worker's cache (ASSET_CACHE_MAX_BYTES).",
      registers: [registry],
      collect() {
        const fetches = assetFetches();
        this.inc(fetches - fetchesCounted);
        fetchesCounted = fetches;
      },
    });
    let launchesCounted = 0;
    new Counter({
      name: "browser_launches_total",
      help: "Chromium launches since start: the first, recycling and crash recovery.",
      registers: [registry],
      collect() {
        this.inc(pool.launches - launchesCounted);
        launchesCounted = pool.launches;
      },
    });
    new Gauge({
      name: "browser_pages",
      help: "Pages open in the current Chromium, busy or idle (the pool grows up to QUEUE_CONCURRENCY).",
      registers: [registry],
      collect() {
        this.set(pool.openPages);
      },
    });
    new Gauge({
      name: "browser_pages_busy",
      help: "Pages printing right now.",
      registers: [registry],
      collect() {
        this.set(pool.busyPages);
      },
    });
  }

  blockedRequest(request: BlockedRequest): void {
    this.blockedRequests.inc({ kind: request.navigation ? "navigation" : "subresource" });
  }

  failed(error: unknown): void {
    const reason =
      error instanceof TemplateLimitError
        ? "template_limit"
        : isTemplateError(error)
          ? "template"
          : error instanceof RenderTimeoutError
            ? "timeout"
            : /Target .*closed|browser has been closed|disconnected/i.test((error as Error).message)
              ? "browser"
              : "other";
    this.renderFailures.inc({ reason });
  }
}
