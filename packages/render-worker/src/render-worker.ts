import { Worker, type Job } from "bullmq";
import {
  createMetricsRegistry,
  serveMetrics,
  checkWritable,
  connectWorkerRedis,
  createBlobStore,
  isBatchCancelled,
  PREVIEW_TEMPLATE_JOB,
  RENDER_CHUNK_JOB,
  RENDER_QUEUE,
  templateSourceKey,
  assetBytesKey,
  assetManifestKey,
  StopDeadline,
  withTimeout,
  type ChunkResults,
  type Logger,
  type RenderChunkJob,
  type RenderResult,
  type PreviewTemplateJob,
  type PreviewTemplateResult,
  type RenderTicketJob,
  type WorkerConfig,
} from "@ticketgen/shared";
import { AssetStore } from "./assets/asset-store.ts";
import { BrowserPool } from "./browser/browser-pool.ts";
import { chromiumSandbox } from "./browser/chromium.ts";
import { WorkerHealth } from "./health/worker-health.ts";
import { TicketRenderer } from "./pipeline/ticket-renderer.ts";
import { ResultReporter } from "./results/result-reporter.ts";
import { WorkerMetrics } from "./metrics/worker-metrics.ts";
import { TemplateRegistry, TemplateSandbox } from "./templates/index.ts";
import { previewTemplate } from "./jobs/preview-template.ts";
import { renderChunk } from "./jobs/render-chunk.ts";
import { renderTicket } from "./jobs/render-ticket.ts";
import { PdfWriter } from "./jobs/pdf-writer.ts";

export interface RenderWorker {
  pool: BrowserPool;
  assets: AssetStore;
  health: WorkerHealth;
  metricsPort: number;
  worker: Worker;
  /** Stops taking jobs, lets running renders finish (up to the grace period), closes Chromium. */
  stop(): Promise<void>;
}

export async function startRenderWorker(config: WorkerConfig, logger: Logger): Promise<RenderWorker> {
  // First, and cheap: a worker that cannot store PDFs must not start taking render jobs.
  const blobs = createBlobStore(config.blobStore);
  await checkWritable(blobs, config.blobStore);
  const redis = connectWorkerRedis(config);
  redis.on("error", (error) => logger.debug({ err: error }, "redis connection error"));
  const assets = new AssetStore(
    {
      manifest: (tenantId) => redis.hgetall(assetManifestKey(config.queuePrefix, tenantId)),
      bytes: (tenantId, sha256) => redis.getBuffer(assetBytesKey(config.queuePrefix, tenantId, sha256)),
    },
    { manifestTtlMs: config.assetManifestTtlMs, maxCachedBytes: config.assetCacheMaxBytes },
  );
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
  const metrics = new WorkerMetrics(registry, pool, () => assets.fetches);
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
    assets,
  });
  const results = new ResultReporter(redis, config.queuePrefix);
  const writer = new PdfWriter(blobs, logger);

  const handlers = {
    ticket: renderTicket({ renderer, writer, results, metrics, logger }),
    chunk: renderChunk({
      renderer,
      writer,
      results,
      metrics,
      logger,
      isBatchCancelled: (tenantId, batchId) => isBatchCancelled(redis, config.queuePrefix, tenantId, batchId),
    }),
    preview: previewTemplate({ renderer }),
  };

  const worker = new Worker<
    RenderTicketJob | RenderChunkJob | PreviewTemplateJob,
    RenderResult | ChunkResults | undefined | PreviewTemplateResult
  >(
    RENDER_QUEUE,
    (job) => {
      if (job.name === PREVIEW_TEMPLATE_JOB) return handlers.preview(job as Job<PreviewTemplateJob, PreviewTemplateResult>);
      if (job.name === RENDER_CHUNK_JOB) return handlers.chunk(job as Job<RenderChunkJob, ChunkResults | undefined>);
      return handlers.ticket(job as Job<RenderTicketJob, RenderResult>);
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
      // Started once start-up is over: a signal before then ends the process at once, which
      // must not abandon a job.
      autorun: false,
    },
  );
  worker.on("error", (error) => logger.warn({ err: error }, "render worker error"));
  await worker.waitUntilReady();
  const health = new WorkerHealth({ redis, pool, worker, blobWrites: writer, redisTimeoutMs: config.redisCommandTimeoutMs });
  const metricsServer = await serveMetrics(registry, config.metricsPort, undefined, health.routes);
  worker.run().catch((error: unknown) => logger.error({ err: error }, "render worker stopped taking jobs"));
  logger.info({ action: "worker_started", concurrency: config.queueConcurrency }, "render worker started");

  return {
    pool,
    assets,
    health,
    worker,
    metricsPort: metricsServer.port,
    async stop() {
      const deadline = new StopDeadline(config.shutdownTimeoutMs);
      health.drain();
      const drained = await withTimeout(
        worker.close().then(() => true),
        config.shutdownTimeoutMs,
        () => false,
      );
      if (!drained) {
        // Unfinished jobs keep their lock until it expires; then another worker takes them.
        // Not worker.close(true): it returns the close under way, which also waits for Redis to
        // answer a QUIT; that close is abandoned, and the connections dropped below.
        logger.warn(
          { action: "drain_timeout" },
          "renders still running, or Redis not answering, after SHUTDOWN_TIMEOUT_MS; handing the renders back",
        );
      }
      // Side by side: a step waiting on a dead Redis must not eat Chromium's time to close.
      await Promise.all([results.close(), metricsServer.close(), sandbox.close(), pool.close()].map((step) => deadline.within(step)));
      redis.disconnect();
      logger.info({ action: "worker_stopped" }, "render worker stopped");
    },
  };
}
