import type { DescFile } from "@bufbuild/protobuf";
import {
  connected,
  connectProducerRedis,
  connectWorkerRedis,
  createBlobStore,
  createMetricsRegistry,
  serveMetrics,
  StopDeadline,
  type Config,
  type Logger,
} from "@ticketgen/shared";
import { ApiMetrics } from "./metrics/api-metrics.ts";
import { file_health_v1_health, Health } from "@ticketgen/shared/gen/health/v1/health_pb";
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection as ReflectionV1,
} from "@ticketgen/shared/gen/grpc/reflection/v1/reflection_pb";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ReflectionV1Alpha,
} from "@ticketgen/shared/gen/grpc/reflection/v1alpha/reflection_pb";
import { BatchService, file_ticketgen_v1_batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { file_ticketgen_v1_template, TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { file_ticketgen_v1_ticket, TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { openDatabase, pingDatabase } from "./db/database.ts";
import { HealthMonitor } from "./health/health-monitor.ts";
import { grpcHealth } from "./health/grpc-health.ts";
import { BlobReaper } from "./reconciliation/blob-reaper.ts";
import { BlobReferences } from "./reconciliation/blob-references.ts";
import { CancelRelay } from "./reconciliation/cancel-relay.ts";
import { PendingSweeper } from "./reconciliation/pending-sweeper.ts";
import { WebhookRelay } from "./reconciliation/webhook-relay.ts";
import { BatchIssuer } from "./batches/batch-issuer.ts";
import { BatchProgress } from "./batches/batch-progress.ts";
import { BatchRepository } from "./batches/batch-repository.ts";
import { batchService } from "./batches/batch-service.ts";
import { RenderDispatcher } from "./queue/render-dispatcher.ts";
import { RenderQueue } from "./queue/render-queue.ts";
import { addReflection } from "./reflection/grpc-reflection.ts";
import { callPipeline, served } from "./pipeline/call-pipeline.ts";
import { startGrpcJsServer } from "./server/grpc-js-server.ts";
import { startWebServer } from "./server/web-server.ts";
import { requestLimits } from "./server/request-limits.ts";
import { createCallAuthenticator } from "./auth/authenticate.ts";
import { createRateLimiter } from "./limits/rate-limiter.ts";
import { ResultRecorder } from "./results/result-recorder.ts";
import { SupersededPdfs } from "./results/superseded-pdfs.ts";
import { AssetPublisher } from "./assets/asset-publisher.ts";
import { AssetRepository } from "./assets/asset-repository.ts";
import { assetHandlers } from "./assets/asset-service.ts";
import { TemplatePreviewer } from "./templates/template-previewer.ts";
import { TenantLogos } from "./print/card-logo.ts";
import { TemplatePublisher } from "./templates/template-publisher.ts";
import { RedisLossWatch } from "./queue/redis-loss-watch.ts";
import { TemplateRepository } from "./templates/template-repository.ts";
import { templateService } from "./templates/template-service.ts";
import { TicketIssuer } from "./tickets/ticket-issuer.ts";
import { TicketRepository } from "./tickets/ticket-repository.ts";
import { ticketService } from "./tickets/ticket-service.ts";
import { TicketValidator } from "./tickets/ticket-validator.ts";
import { WebhookNotifier } from "./webhooks/webhook-notifier.ts";
import { WebhookOutbox } from "./webhooks/webhook-outbox.ts";
import { encodeProtobufStringsWithBuffer } from "./server/protobuf-text.ts";

export interface ApiApp {
  /** gRPC (grpc-js). */
  port: number;
  /** Connect and gRPC-Web (connect-node), HTTP/1.1 and h2c. */
  webPort: number;
  metricsPort: number;
  health: HealthMonitor;
  sweeper: PendingSweeper;
  /** Present when a webhook URL is configured. */
  webhookRelay: WebhookRelay | undefined;
  reaper: BlobReaper;
  results: ResultRecorder;
  progress: BatchProgress;
  /** Drain: NOT_SERVING, no new calls, in-flight calls finish, then every connection closes. */
  stop(): Promise<void>;
}

/**
 * What each service needs to do its job, for its health status. TicketService works without
 * Redis: a ticket issued meanwhile stays PENDING until the sweeper enqueues it. Batch progress
 * and template previews go through Redis; a cancel is stored without it and reaches the workers
 * once Redis is back.
 */
const HEALTH_DEPENDENCIES: Record<string, readonly string[]> = {
  [TicketService.typeName]: ["postgres"],
  [BatchService.typeName]: ["postgres", "redis"],
  [TemplateService.typeName]: ["postgres", "redis"],
  [Health.typeName]: [],
  [ReflectionV1.typeName]: [],
  [ReflectionV1Alpha.typeName]: [],
};
const DESCRIBED_FILES: DescFile[] = [
  file_ticketgen_v1_ticket,
  file_ticketgen_v1_batch,
  file_ticketgen_v1_template,
  file_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

export async function startApi(config: Config, logger: Logger, options: { host?: string } = {}): Promise<ApiApp> {
  encodeProtobufStringsWithBuffer();
  if (!config.auth) {
    logger.warn(
      { action: "auth_disabled" },
      "no authentication configured (AUTH_JWT_SECRET or AUTH_JWKS_URL): every caller is tenant default with every scope; never run like this in production",
    );
  }
  const database = await openDatabase(config);
  await database.migrate();
  const redis = connectProducerRedis(config);
  redis.on("error", (error) => logger.debug({ err: error }, "redis connection error"));
  const renderQueue = new RenderQueue(
    redis,
    {
      prefix: config.queuePrefix,
      attempts: config.queueRetryAttempts,
      backoffDelayMs: config.queueRetryDelayMs,
      timeoutMs: config.redisCommandTimeoutMs,
    },
    logger,
  );
  const repository = new TicketRepository(database.db);
  const templates = new TemplateRepository(database.db);
  const lossWatch = new RedisLossWatch(redis, config.queuePrefix, logger);
  const publisher = new TemplatePublisher(redis, config.queuePrefix, lossWatch);
  const assetRepository = new AssetRepository(database.db);
  const assetPublisher = new AssetPublisher(redis, config.queuePrefix, assetRepository, lossWatch, logger);
  const dispatcher = new RenderDispatcher(renderQueue, templates, publisher, assetPublisher, logger);
  const issuer = new TicketIssuer(repository, templates, dispatcher, config);
  const validator = new TicketValidator(repository, config.keyRing);
  const blobs = createBlobStore(config.blobStore);

  const registry = createMetricsRegistry("ticketgen-api");
  const metrics = new ApiMetrics(registry, {
    render: () => renderQueue.backlog(),
    results: (): Promise<number> => results.backlog(),
  });

  const consumerRedis = connectWorkerRedis(config);
  consumerRedis.on("error", (error) => logger.debug({ err: error }, "redis connection error"));
  const logos = new TenantLogos(assetRepository);
  const previewer = new TemplatePreviewer(redis, consumerRedis, config.queuePrefix, config.keyRing, config.previewTimeoutMs, logos);
  const webhooks =
    config.webhook &&
    new WebhookNotifier(
      redis,
      consumerRedis,
      new WebhookOutbox(database.db),
      { ...config.webhook, prefix: config.queuePrefix, enqueueTimeoutMs: config.redisCommandTimeoutMs },
      metrics,
      logger,
    );
  const subscriberRedis = connectWorkerRedis(config);
  subscriberRedis.on("error", (error) => logger.debug({ err: error }, "redis connection error"));
  const progress = new BatchProgress(redis, subscriberRedis, config.queuePrefix, logger);
  const batches = new BatchRepository(database.db);
  const batchIssuer = new BatchIssuer(batches, issuer, dispatcher, {
    chunkSize: config.batchSize,
    maxInFlight: config.abuseLimits.maxBatchesInFlight,
  });
  const blobReferences = new BlobReferences(database.db);
  const results = new ResultRecorder(
    consumerRedis,
    config.queuePrefix,
    repository,
    batches,
    progress,
    webhooks,
    new SupersededPdfs(blobReferences, blobs, logger),
    metrics,
    logger,
    config.resultRetry,
  );

  const health = new HealthMonitor(
    { postgres: () => pingDatabase(database.db), redis: async () => void (await redis.ping()) },
    config.healthIntervalMs,
    config.redisCommandTimeoutMs,
    logger,
  );
  await connected(redis, config.redisCommandTimeoutMs);
  await health.start();
  const cancelRelay = new CancelRelay({ batches, renderQueue }, logger);
  const sweeper = new PendingSweeper(
    { tickets: repository, batches, batchIssuer, renderQueue, dispatcher, results, cancelRelay },
    { intervalMs: config.sweepIntervalMs, minAgeMs: config.sweepMinAgeMs },
    logger,
  );
  sweeper.start();
  const webhookRelay =
    config.webhook &&
    webhooks &&
    new WebhookRelay(
      { outbox: new WebhookOutbox(database.db), notifier: webhooks },
      {
        intervalMs: config.sweepIntervalMs,
        minAgeMs: config.sweepMinAgeMs,
        retentionMs: config.webhook.retentionDays * 86_400_000,
      },
      logger,
    );
  webhookRelay?.start();
  const reaper = new BlobReaper(
    { references: blobReferences, blobs, oldestUnrecordedResult: () => results.oldestUnrecorded() },
    {
      intervalMs: config.blobReapIntervalMs,
      retentionDays: config.pdfRetentionDays,
      orphanMinAgeMs: config.orphanBlobMinAgeHours * 3_600_000,
    },
    logger,
  );
  reaper.start();
  lossWatch.start(config.healthIntervalMs);

  const rateLimiter = createRateLimiter(redis, {
    prefix: config.queuePrefix,
    limits: config.abuseLimits,
    timeoutMs: config.redisCommandTimeoutMs,
  });

  const drainController = new AbortController();
  const services = [
    served(TicketService, ticketService({ repository, issuer, validator, blobs, keyRing: config.keyRing, logos })),
    served(
      BatchService,
      batchService({
        repository: batches,
        issuer: batchIssuer,
        progress,
        cancelRelay,
        blobs,
        metrics,
        drainSignal: drainController.signal,
        watchPollIntervalMs: config.watchPollIntervalMs,
        logos,
        logger,
      }),
    ),
    served(
      TemplateService,
      templateService({
        repository: templates,
        publisher,
        previewer,
        maxTemplateBytes: config.maxTemplateBytes,
        assets: assetHandlers({ repository: assetRepository, publisher: assetPublisher, limits: config.assets }),
      }),
    ),
  ];
  const pipeline = callPipeline({ logger, metrics, authenticate: createCallAuthenticator(config.auth), rateLimiter });
  const grpcHealthService = grpcHealth(health, HEALTH_DEPENDENCIES);
  const limits = {
    maxConcurrentStreams: config.grpc.maxConcurrentStreams,
    maxHeaderListBytes: config.grpc.maxHeaderListBytes,
    idleTimeoutMs: config.grpc.idleTimeoutMs,
    keepaliveTimeMs: config.grpc.keepaliveTimeMs,
    keepaliveTimeoutMs: config.grpc.keepaliveTimeoutMs,
    requestBytes: requestLimits(config),
  };
  const server = await startGrpcJsServer({
    port: config.port,
    host: options.host,
    services,
    pipeline,
    limits,
    tls: config.grpc.tls,
    extra: (grpcServer) => {
      grpcHealthService.addToServer(grpcServer);
      addReflection(grpcServer, DESCRIBED_FILES);
    },
    logger,
  });
  const webServer = await startWebServer({
    port: config.webPort,
    host: options.host,
    services,
    interceptors: pipeline.interceptors,
    limits,
    corsOrigins: config.corsOrigins,
    tls: config.grpc.tls,
    logger,
  });
  const metricsServer = await serveMetrics(registry, config.metricsPort, options.host);
  logger.info(
    { action: "api_started", port: server.port, webPort: webServer.port, database: database.kind, tls: config.grpc.tls !== undefined },
    `ticketgen API listening on :${server.port} (gRPC) and :${webServer.port} (Connect, gRPC-Web)`,
  );

  return {
    port: server.port,
    webPort: webServer.port,
    metricsPort: metricsServer.port,
    health,
    sweeper,
    webhookRelay,
    reaper,
    results,
    progress,
    async stop() {
      const deadline = new StopDeadline(config.shutdownTimeoutMs);
      health.drain();
      drainController.abort();
      grpcHealthService.endWatches();
      await Promise.all([server.drain(config.shutdownTimeoutMs), webServer.drain(config.shutdownTimeoutMs)]);
      health.stop();
      // The sweep and reap in progress go first, since they use the queues and the blob store. BullMQ's close() sends Redis
      // a QUIT and postgres.js' end() waits for its queries: neither returns while its server
      // does not answer, hence the deadline, after which the connections are dropped.
      await deadline.within(sweeper.stop());
      await deadline.within(webhookRelay?.stop() ?? Promise.resolve());
      await deadline.within(reaper.stop());
      await deadline.within(lossWatch.stop());
      await Promise.all(
        [metricsServer.close(), results.close(), webhooks?.close() ?? Promise.resolve(), previewer.close(), renderQueue.close()].map(
          (step) => deadline.within(step),
        ),
      );
      redis.disconnect();
      consumerRedis.disconnect();
      subscriberRedis.disconnect();
      await deadline.within(database.close());
      logger.info({ action: "api_stopped" }, "ticketgen API stopped");
    },
  };
}
