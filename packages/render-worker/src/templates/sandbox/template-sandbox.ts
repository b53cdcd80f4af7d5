import { Piscina } from "piscina";
import { TEMPLATE_THREAD } from "../../paths.ts";
import { TemplateCompileError, TemplateLimitError, TemplateRenderError } from "../errors.ts";
import type { RenderOutcome, RenderTask, TemplateAssets, TemplateSource, TemplateView } from "./protocol.ts";

const NO_ASSETS: TemplateAssets = { names: [], urls: {} };

export interface TemplateSandboxOptions {
  /** Threads kept running: one per render the worker runs at once, so a bomb holds only its own. */
  threads: number;
  /** A ticket's template runs this long at most (TEMPLATE_TIMEOUT_MS); then its thread is terminated. */
  timeoutMs: number;
  /** A ticket's HTML may be this large at most, in UTF-8 bytes (TEMPLATE_MAX_OUTPUT_BYTES). */
  maxOutputBytes: number;
  /** Heap of each thread (TEMPLATE_MAX_MEMORY_MB): a thread over it dies alone, not the worker. */
  maxMemoryMb: number;
}

/** A ticket's outcome: its HTML, or the template error that fails it alone. */
export type TemplateOutcome = string | TemplateCompileError | TemplateRenderError;

/** How a task ended: every outcome, or the thread was killed on ticket `at` for `reason`. */
type TaskEnd = { outcomes: TemplateOutcome[] } | { killedAt: number; reason: TemplateLimitError };

/** "2 MB", "512 KB", "1000 bytes": limits as an operator wrote them. */
export function formatBytes(bytes: number): string {
  const MB = 1024 * 1024;
  if (bytes % MB === 0) return `${bytes / MB} MB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}

/**
 * Runs ticket templates on worker threads (piscina), each ticket within a time limit, an
 * output cap and a heap limit, so that a template bomb fails its own ticket and the worker's
 * event loop keeps serving every other job. A chunk's tickets travel as one task, so the
 * per-ticket cost is a function call, not a message.
 */
export class TemplateSandbox {
  private readonly pool: Piscina<RenderTask, RenderOutcome[]>;

  constructor(private readonly options: TemplateSandboxOptions) {
    this.pool = new Piscina({
      filename: TEMPLATE_THREAD.href,
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      recordTiming: false,
      // The young generation is sized apart: left to V8 it may add 48 MB to every thread.
      resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb, maxYoungGenerationSizeMb: Math.min(8, Math.max(2, Math.floor(options.maxMemoryMb / 8))) },
      // Running from TypeScript sources (tests, `pnpm start:worker`), a thread needs the loader
      // too; the bundle's thread (dist/template-thread.mjs) is plain JavaScript.
      execArgv: TEMPLATE_THREAD.pathname.endsWith(".ts") ? ["--import", "tsx"] : [],
    });
    // Piscina reports here a thread that fails while it has no task (an unhandled 'error' would
    // end the process); it replaces the thread, and a task's own failures reach its caller.
    this.pool.on("error", () => {});
  }

  /** Runs an empty template, so that a thread that cannot start fails the worker's start, not a ticket. */
  async warmUp(): Promise<void> {
    const [outcome] = await this.render({ key: "warm-up", source: "", trusted: true }, [{}]);
    if (typeof outcome !== "string") throw outcome;
  }

  /**
   * One outcome per view, in order. A ticket that exceeds the time or memory limit kills its
   * thread (replaced by piscina): it fails with the reason, the tickets before it are rendered
   * again on a fresh thread, and the ones after it fail with the same reason without being
   * tried, so a chunk of bombs costs one time limit, not a hundred. `assets` are the tenant's
   * (AssetStore), sent once for all the views.
   */
  async render(template: TemplateSource, views: readonly TemplateView[], assets: TemplateAssets = NO_ASSETS): Promise<TemplateOutcome[]> {
    if (views.length === 0) return [];
    const end = await this.run(template, views, assets);
    if ("outcomes" in end) return end.outcomes;
    const before = end.killedAt > 0 ? await this.render(template, views.slice(0, end.killedAt), assets) : [];
    const after = views
      .slice(end.killedAt + 1)
      .map(() => new TemplateLimitError(`${end.reason.message} on another ticket of this batch chunk; not tried again`));
    return [...before, end.reason, ...after];
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async run(template: TemplateSource, views: readonly TemplateView[], assets: TemplateAssets): Promise<TaskEnd> {
    const { timeoutMs, maxOutputBytes, maxMemoryMb } = this.options;
    const progress = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
    progress[0] = -1;
    const epoch = Date.now();
    const controller = new AbortController();
    let timedOutAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Wakes once per time limit: a task of quick tickets is done before the first wake-up.
    const watch = () => {
      const index = Atomics.load(progress, 0);
      const elapsed = Date.now() - epoch - Atomics.load(progress, 1);
      if (index < 0 || elapsed < timeoutMs) {
        timer = setTimeout(watch, index < 0 ? timeoutMs : timeoutMs - elapsed);
        return;
      }
      timedOutAt = index;
      controller.abort();
    };
    timer = setTimeout(watch, timeoutMs);
    try {
      const results = await this.pool.run({ template, views: [...views], assets, maxOutputBytes, progress, epoch }, { signal: controller.signal });
      return { outcomes: results.map((result) => this.outcome(result)) };
    } catch (error) {
      if (timedOutAt !== undefined) return { killedAt: timedOutAt, reason: new TemplateLimitError(`template exceeded the ${timeoutMs} ms time limit`) };
      if ((error as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY") {
        return { killedAt: Math.max(0, Atomics.load(progress, 0)), reason: new TemplateLimitError(`template exceeded the ${maxMemoryMb} MB memory limit`) };
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private outcome(result: RenderOutcome): TemplateOutcome {
    if ("html" in result) return result.html;
    if (result.error === "output") return new TemplateLimitError(`template output exceeds ${formatBytes(this.options.maxOutputBytes)}`);
    if (result.error === "compile") return new TemplateCompileError(result.message);
    return new TemplateRenderError(result.message);
  }
}
