import { createHash } from "node:crypto";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import {
  createBlobStore,
  PREVIEW_TEMPLATE_JOB,
  RENDER_QUEUE,
  templateSourceKey,
  ticketPdfKey,
  type Logger,
  type PreviewTemplateJob,
  type PreviewTemplateResult,
  type RenderTicketJob,
  type WorkerConfig,
} from "@ticketgen/shared";
import { BrowserPool } from "./browser/browser-pool.ts";
import { TicketRenderer } from "./pipeline/ticket-renderer.ts";
import { ResultReporter } from "./results/result-reporter.ts";
import { isTemplateError, TemplateRegistry } from "./templates/index.ts";

export interface RenderWorker {
  pool: BrowserPool;
  worker: Worker;
  /** Stops taking jobs, lets running renders finish (up to the grace period), closes Chromium. */
  stop(): Promise<void>;
}

export async function startRenderWorker(config: WorkerConfig, logger: Logger): Promise<RenderWorker> {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  redis.on("error", (error) => logger.debug({ err: error }, "redis connection error"));
  const pool = new BrowserPool(
    { executablePath: config.chromiumPath, maxRendersPerBrowser: config.browserMaxRenders, renderTimeoutMs: config.renderTimeoutMs },
    logger,
  );
  await pool.warmUp();
  const templates = new TemplateRegistry({
    templatesPath: config.templatesPath,
    cacheTtlMs: config.templateCacheTtlMs,
    fetchCustom: async (tenantId, templateId, version) =>
      (await redis.get(templateSourceKey(config.queuePrefix, tenantId, templateId, version))) ?? undefined,
  });
  const renderer = new TicketRenderer(pool, templates, { size: config.qrSize, margin: config.qrMargin }, config.renderTimeoutMs);
  const blobs = createBlobStore(config.blobStore);
  const results = new ResultReporter(redis, config.queuePrefix);

  async function renderTicket(job: Job<RenderTicketJob, void>): Promise<void> {
    const ticket = job.data;
    const started = performance.now();
    let pdf: Buffer;
    try {
      pdf = await renderer.pdf(await renderer.html(ticket));
    } catch (error) {
      const reason = (error as Error).message;
      // A template that cannot render this ticket will not render it on a retry either.
      const final = isTemplateError(error) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        await results.report({ outcome: "failed", tenantId: ticket.tenantId, ticketId: ticket.ticketId, reason, failedAt: new Date().toISOString() });
      }
      logger.warn({ action: "render_failed", ticketId: ticket.ticketId, attempt: job.attemptsMade + 1, final, reason }, "render failed");
      throw isTemplateError(error) ? new UnrecoverableError(reason) : error;
    }
    const sha256 = createHash("sha256").update(pdf).digest("hex");
    const pdfKey = ticketPdfKey(ticket.tenantId, ticket.ticketId, sha256);
    await blobs.put(pdfKey, pdf, "application/pdf");
    const renderMs = Math.round(performance.now() - started);
    await results.report({
      outcome: "generated",
      tenantId: ticket.tenantId,
      ticketId: ticket.ticketId,
      pdfKey,
      pdfSize: pdf.length,
      pdfSha256: sha256,
      generatedAt: new Date().toISOString(),
      renderMs,
    });
    logger.info({ action: "ticket_rendered", ticketId: ticket.ticketId, pdfSize: pdf.length, renderMs }, "ticket rendered");
  }

  async function previewTemplate(job: Job<PreviewTemplateJob, PreviewTemplateResult>): Promise<PreviewTemplateResult> {
    const { sample, content } = job.data;
    try {
      const html = await renderer.html(sample, content || undefined);
      return { pdfBase64: (await renderer.pdf(html)).toString("base64") };
    } catch (error) {
      if (isTemplateError(error)) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  }

  const worker = new Worker<RenderTicketJob | PreviewTemplateJob, void | PreviewTemplateResult>(
    RENDER_QUEUE,
    (job) =>
      job.name === PREVIEW_TEMPLATE_JOB
        ? previewTemplate(job as Job<PreviewTemplateJob, PreviewTemplateResult>)
        : renderTicket(job as Job<RenderTicketJob, void>),
    {
      connection: redis,
      prefix: config.queuePrefix,
      concurrency: config.queueConcurrency,
      // Stalled-job recovery, chosen on purpose: a worker that dies mid-render stops renewing
      // its lock; after lockDuration another worker's check (every stalledInterval) takes the
      // job back, up to maxStalledCount times before it counts as failed.
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: config.maxStalledCount,
    },
  );
  worker.on("error", (error) => logger.warn({ err: error }, "render worker error"));
  await worker.waitUntilReady();
  logger.info({ action: "worker_started", concurrency: config.queueConcurrency }, "render worker started");

  return {
    pool,
    worker,
    async stop() {
      let timer: NodeJS.Timeout | undefined;
      const graceful = worker.close();
      const expired = new Promise<"expired">((resolve) => {
        timer = setTimeout(() => resolve("expired"), config.shutdownTimeoutMs);
      });
      if ((await Promise.race([graceful, expired])) === "expired") {
        // Unfinished jobs keep their lock until it expires; then another worker takes them.
        logger.warn({ action: "drain_timeout" }, "renders still running after the grace period; handing them back");
        await worker.close(true);
      }
      clearTimeout(timer);
      await results.close();
      await pool.close();
      redis.disconnect();
      logger.info({ action: "worker_stopped" }, "render worker stopped");
    },
  };
}
