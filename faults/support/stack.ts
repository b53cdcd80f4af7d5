import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import postgres from "postgres";
import { RENDER_QUEUE, RESULTS_QUEUE } from "@ticketgen/shared";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/scratch-database.ts";
import { freePort, RedisServer } from "../../packages/api/test/support/redis-server.ts";
import { FaultProxy } from "./fault-proxy.ts";
import { Service } from "./service.ts";
import { WebhookReceiver } from "./webhook-receiver.ts";

const QUEUE_PREFIX = "{tgfaults}";

const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface StackOptions {
  batchSize: number;
  /** Extra environment for both services. */
  env?: Record<string, string>;
  /** The services reach PostgreSQL and Redis directly, not through the proxies (no faults to inject). */
  direct?: boolean;
}

/**
 * The real stack on loopback, with every dependency behind something the suite controls: a
 * scratch database on the system PostgreSQL reached through a proxy (the server itself is never
 * stopped), a private in-memory redis-server behind a proxy, a local blob directory, a webhook
 * receiver, and the API and one render worker as processes of their own.
 */
export class FaultStack {
  private queues: Queue[] | undefined;

  private constructor(
    readonly database: ScratchDatabase,
    /** Direct to PostgreSQL, not through the proxy: the suite's own reads never suffer the faults. */
    readonly sql: postgres.Sql,
    readonly postgresProxy: FaultProxy,
    readonly redis: RedisServer,
    readonly redisProxy: FaultProxy,
    readonly blobDir: string,
    readonly receiver: WebhookReceiver,
    readonly api: Service,
    readonly worker: Service,
    readonly apiUrl: string,
    private readonly workDir: string,
  ) {}

  static async start(options: StackOptions): Promise<FaultStack> {
    const workDir = mkdtempSync(join(tmpdir(), "ticketgen-faults-"));
    const database = await createScratchDatabase(adminUrl, "ticketgen_faults");
    const sql = postgres(database.url, { max: 2, onnotice: () => {} });
    const target = new URL(adminUrl);
    const postgresProxy = new FaultProxy(target.hostname, Number(target.port || 5432));
    await postgresProxy.start();
    const redis = new RedisServer(await freePort());
    await redis.start();
    const redisProxy = new FaultProxy("127.0.0.1", redis.port);
    await redisProxy.start();
    const receiver = new WebhookReceiver();
    await receiver.up();
    // A link to the directory, so that blob-writes-fail can switch it in one step.
    const blobDir = join(workDir, "blobs");
    mkdirSync(join(workDir, "blob-data"));
    symlinkSync(join(workDir, "blob-data"), blobDir);
    const apiPort = await freePort();
    const env: Record<string, string> = {
      DATABASE_URL: options.direct ? database.url : postgresProxy.url("postgres", new URL(database.url).pathname),
      REDIS_URL: options.direct ? redis.url : redisProxy.url("redis"),
      QUEUE_PREFIX,
      BLOB_DIR: blobDir,
      QR_SIGNATURE_SECRET: "faults secret: 32 bytes or more, not a real one!",
      PORT: String(apiPort),
      // The faults are injected on the gRPC port; any free one for Connect and gRPC-Web.
      WEB_PORT: "0",
      METRICS_PORT: "0",
      LOG_LEVEL: "info",
      BATCH_SIZE: String(options.batchSize),
      HEALTH_INTERVAL_MS: "500",
      // A dead worker's job comes back within seconds rather than the default 40 s.
      QUEUE_LOCK_DURATION_MS: "5000",
      QUEUE_STALLED_INTERVAL_MS: "1000",
      SWEEP_INTERVAL_MS: "2000",
      SWEEP_MIN_AGE_MS: "5000",
      CORE_SERVICE_WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: "faults webhook secret, 32 bytes or more!!",
      WEBHOOK_RETRY_DELAY: "200",
      ...options.env,
    };
    const api = new Service("api", env, join(workDir, "api.log"));
    const worker = new Service("render-worker", env, join(workDir, "worker.log"));
    const stack = new FaultStack(
      database,
      sql,
      postgresProxy,
      redis,
      redisProxy,
      blobDir,
      receiver,
      api,
      worker,
      `http://127.0.0.1:${apiPort}`,
      workDir,
    );
    try {
      await api.start();
      await worker.start();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  get logDir(): string {
    return this.workDir;
  }

  /** Render and result jobs not finished yet (waiting, delayed or being worked on), read from Redis directly. */
  async queuedJobs(): Promise<number> {
    this.queues ??= [RENDER_QUEUE, RESULTS_QUEUE].map((name) => {
      const queue = new Queue(name, { connection: { host: "127.0.0.1", port: this.redis.port }, prefix: QUEUE_PREFIX });
      // Redis is stopped by some faults; a read during the outage fails on its own.
      queue.on("error", () => {});
      return queue;
    });
    const counts = await Promise.all(this.queues.map((queue) => queue.getJobCounts("waiting", "prioritized", "delayed", "active")));
    return counts.flatMap((count) => Object.values(count)).reduce((sum, n) => sum + n, 0);
  }

  /**
   * Stops everything it started; returns the exit codes of the services' last processes. The
   * work directory (logs, blobs) is kept when `keep` is set, for a failed run to be read.
   */
  async stop(keep = false): Promise<{ api: number | string; worker: number | string }> {
    // The worker first: it reports results the API must still be there to take.
    const worker = await this.worker.stop();
    const api = await this.api.stop();
    this.api.close();
    this.worker.close();
    await this.receiver.down();
    await Promise.all((this.queues ?? []).map((queue) => queue.close()));
    await this.redisProxy.close();
    await this.redis.stop();
    await this.postgresProxy.close();
    await this.sql.end();
    await this.database.drop();
    if (!keep) rmSync(this.workDir, { recursive: true, force: true });
    return { api, worker };
  }
}
