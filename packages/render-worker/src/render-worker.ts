import { createHash } from "node:crypto";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import {
  createMetricsRegistry,
  serveMetrics,
  batchCancelledKey,
  batchChunkPdfKey,
  connectWorkerRedis,
  createBlobStore,
  PREVIEW_TEMPLATE_JOB,
  RENDER_CHUNK_JOB,
  RENDER_QUEUE,
  templateSourceKey,
  ticketPdfKey,
  withTimeout,
  type Logger,
  type RenderChunkJob,
  type RenderResult,
  type PreviewTemplateJob,
  type PreviewTemplateResult,
  type RenderTicketJob,
  type WorkerConfig,
} from "@ticketgen/shared";
import { BrowserPool } from "./browser/browser-pool.ts";
import { chromiumSandbox } from "./browser/chromium.ts";
import { WorkerHealth } from "./health/worker-health.ts";
import { TicketRenderer } from "./pipeline/ticket-renderer.ts";
import { ResultReporter } from "./results/result-reporter.ts";
import { WorkerMetrics } from "./metrics/worker-metrics.ts";
import { isTemplateError, TemplateRegistry, TemplateSandbox } from "./templates/index.ts";

export interface RenderWorker {
  pool: BrowserPool;
  health: WorkerHealth;
  metricsPort: number;
  worker: Worker;
  /** Stops taking jobs, lets running renders finish (up to the grace period), closes Chromium. */
  stop(): Promise<void>;
}

export async function startRenderWorker(config: WorkerConfig, logger: Logger): Promise<RenderWorker> {
  const redis = connectWorkerRedis(config);
  redis.on("error", (error) => logger.debug({ err: error }, "redis connection error"));
  const registry = createMetricsRegistry("ticketgen-render-worker");
  const pool = new BrowserPool(
    {
      executablePath: config.chromiumPath,
      maxRendersPerBrowser: config.browserMaxRenders,
      maxTicketsPerPage: config.browserPageMaxTickets,
      renderTimeoutMs: config.renderTimeoutMs,
      sandbox: chromiumSandbox(config.chromiumSandbox),
      onBlockedRequest: (request) => metrics.blockedRequest(request),
    },
    logger,
  );
  const metrics = new WorkerMetrics(registry, pool);
  await pool.warmUp();
  const sandbox = new TemplateSandbox({
    threads: config.templateThreads,
    timeoutMs: config.templateTimeoutMs,
    maxOutputBytes: config.templateMaxOutputBytes,
    maxMemoryMb: config.templateMaxMemoryMb,
  });
  await sandbox.warmUp().catch(async (error: unknown) => {
    await Promise.all([sandbox.close(), pool.close()]);
    throw error;
  });
  const templates = new TemplateRegistry({
    templatesPath: config.templatesPath,
    cacheTtlMs: config.templateCacheTtlMs,
    fetchCustom: async (tenantId, templateId, version) =>
      (await redis.get(templateSourceKey(config.queuePrefix, tenantId, templateId, version))) ?? undefined,
  });
  const renderer = new TicketRenderer(pool, templates, sandbox, {
    qr: { size: config.qrSize, margin: config.qrMargin },
    timeoutMs: config.renderTimeoutMs,
    maxPagesPerTicket: config.maxPagesPerTicket,
  });
  const blobs = createBlobStore(config.blobStore);
  const results = new ResultReporter(redis, config.queuePrefix);

  const failure = (ticket: RenderTicketJob, reason: string): RenderResult => ({
    outcome: "failed",
    tenantId: ticket.tenantId,
    ticketId: ticket.ticketId,
    reason,
    failedAt: new Date().toISOString(),
  });

  /** Stores a ticket's PDF under its content hash and describes it for the API. */
  async function stored(ticket: RenderTicketJob, pdf: Uint8Array, renderMs: number): Promise<RenderResult> {
    const sha256 = createHash("sha256").update(pdf).digest("hex");
    const pdfKey = ticketPdfKey(ticket.tenantId, ticket.ticketId, sha256);
    await blobs.put(pdfKey, pdf, "application/pdf");
    return { outcome: "generated", tenantId: ticket.tenantId, ticketId: ticket.ticketId, pdfKey, pdfSize: pdf.length, pdfSha256: sha256, generatedAt: new Date().toISOString(), renderMs };
  }

  const isLastAttempt = (job: Job) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

  async function renderTicket(job: Job<RenderTicketJob, void>): Promise<void> {
    const ticket = job.data;
    const started = performance.now();
    let pdf: Buffer;
    const timer = metrics.pdfDuration.startTimer({ job: "ticket" });
    try {
      pdf = await renderer.pdf(await renderer.html(ticket));
      timer();
    } catch (error) {
      metrics.failed(error);
      const reason = (error as Error).message;
      // A template that cannot render this ticket will not render it on a retry either.
      const final = isTemplateError(error) || isLastAttempt(job);
      if (final) await results.report(failure(ticket, reason));
      logger.warn({ action: "render_failed", ticketId: ticket.ticketId, attempt: job.attemptsMade + 1, final, reason }, "render failed");
      throw isTemplateError(error) ? new UnrecoverableError(reason) : error;
    }
    const result = await stored(ticket, pdf, Math.round(performance.now() - started));
    await results.report(result);
    logger.info({ action: "ticket_rendered", ticketId: ticket.ticketId, pdfSize: pdf.length, renderMs: Math.round(performance.now() - started) }, "ticket rendered");
  }

  /** A batch chunk: one Chromium document for all its tickets; a ticket the template cannot draw fails alone. */
  async function renderChunk(job: Job<RenderChunkJob, void>): Promise<void> {
    const { tenantId, batchId, chunkIndex, tickets } = job.data;
    if (await redis.exists(batchCancelledKey(config.queuePrefix, tenantId, batchId))) {
      logger.info({ action: "chunk_skipped", batchId, chunkIndex }, "batch cancelled: chunk skipped");
      return;
    }
    const started = performance.now();
    const outcomes: RenderResult[] = [];
    try {
      const drawable: Array<{ ticket: RenderTicketJob; html: string }> = [];
      for (const [i, outcome] of (await renderer.htmls(tickets)).entries()) {
        const ticket = tickets[i]!;
        if (typeof outcome === "string") {
          drawable.push({ ticket, html: outcome });
          continue;
        }
        metrics.failed(outcome);
        outcomes.push(failure(ticket, outcome.message));
      }
      if (drawable.length > 0) {
        const timer = metrics.pdfDuration.startTimer({ job: "chunk" });
        const { document, tickets: pdfs } = await renderer.pdfs(drawable.map((d) => d.html));
        timer();
        const renderMs = Math.round((performance.now() - started) / drawable.length);
        outcomes.push(
          ...(await Promise.all(
            drawable.map(async (d, i) => {
              const pdf = pdfs[i]!;
              if (pdf instanceof Uint8Array) return stored(d.ticket, pdf, renderMs);
              metrics.failed(pdf);
              return failure(d.ticket, pdf.message);
            }),
          )),
        );
        if (document) await blobs.put(batchChunkPdfKey(tenantId, batchId, chunkIndex), document, "application/pdf");
      }
    } catch (error) {
      metrics.failed(error);
      const reason = (error as Error).message;
      logger.warn({ action: "chunk_failed", batchId, chunkIndex, attempt: job.attemptsMade + 1, reason }, "chunk render failed");
      if (isLastAttempt(job)) await results.reportChunk({ tenantId, batchId, chunkIndex, results: tickets.map((t) => failure(t, reason)) });
      throw error;
    }
    await results.reportChunk({ tenantId, batchId, chunkIndex, results: outcomes });
    logger.info(
      { action: "chunk_rendered", batchId, chunkIndex, tickets: tickets.length, failed: outcomes.filter((o) => o.outcome === "failed").length, ms: Math.round(performance.now() - started) },
      "chunk rendered",
    );
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

  const worker = new Worker<RenderTicketJob | RenderChunkJob | PreviewTemplateJob, void | PreviewTemplateResult>(
    RENDER_QUEUE,
    (job) => {
      if (job.name === PREVIEW_TEMPLATE_JOB) return previewTemplate(job as Job<PreviewTemplateJob, PreviewTemplateResult>);
      if (job.name === RENDER_CHUNK_JOB) return renderChunk(job as Job<RenderChunkJob, void>);
      return renderTicket(job as Job<RenderTicketJob, void>);
    },
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
  const health = new WorkerHealth({ redis, pool, worker, redisTimeoutMs: config.redisCommandTimeoutMs });
  const metricsServer = await serveMetrics(registry, config.metricsPort, undefined, health.routes);
  logger.info({ action: "worker_started", concurrency: config.queueConcurrency }, "render worker started");

  return {
    pool,
    health,
    worker,
    metricsPort: metricsServer.port,
    async stop() {
      health.drain();
      const expired = await withTimeout(worker.close().then(() => false), config.shutdownTimeoutMs, () => true);
      if (expired) {
        // Unfinished jobs keep their lock until it expires; then another worker takes them.
        logger.warn({ action: "drain_timeout" }, "renders still running after the grace period; handing them back");
        await worker.close(true);
      }
      await results.close();
      await metricsServer.close();
      await sandbox.close();
      await pool.close();
      redis.disconnect();
      logger.info({ action: "worker_stopped" }, "render worker stopped");
    },
  };
}
