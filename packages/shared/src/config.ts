import { z } from "zod";
import type { BlobStoreOptions } from "./blob-store/blob-store.ts";
import { createKeyRing, parseSigningKeys, type KeyRing } from "./token/key-ring.ts";

export type Env = Record<string, string | undefined>;

/** Thrown at start-up; the message names every variable that needs fixing. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Reads the variables one by one so that one bad value does not hide the others; every
 * problem is reported as `NAME: what is wrong (got "value")`.
 */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === "" ? undefined : value;
  }

  read<T>(name: string, schema: z.ZodType<T>, fallback: T, rule: string): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.problems.push(`${name}: ${rule} (got "${value}")`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    return this.read(name, int(min, max), fallback, `must be an integer from ${min} to ${max}`);
  }

  url(name: string, protocols: string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (protocols.includes(url.protocol)) return value;
    } catch {
      // reported below
    }
    this.problems.push(`${name}: must be a ${protocols.map((p) => `${p}//`).join(" or ")} URL`);
    return undefined;
  }

  fail(message: string): void {
    this.problems.push(message);
  }
}

function readDatabaseUrl(r: EnvReader): string | undefined {
  const url = r.url("DATABASE_URL", ["postgres:", "postgresql:"]);
  if (url) return url;
  const host = r.raw("DB_HOST");
  if (!host) return undefined;
  const user = encodeURIComponent(r.raw("DB_USER") ?? "postgres");
  const password = r.raw("DB_PASSWORD");
  const auth = password ? `${user}:${encodeURIComponent(password)}` : user;
  const port = r.int("DB_PORT", 5432, 1, 65535);
  return `postgres://${auth}@${host}:${port}/${encodeURIComponent(r.raw("DB_NAME") ?? "ticketgen")}`;
}

function readRedisUrl(r: EnvReader): string {
  const url = r.url("REDIS_URL", ["redis:", "rediss:"]);
  if (url) return url;
  const host = r.raw("REDIS_HOST") ?? "127.0.0.1";
  const port = r.int("REDIS_PORT", 6379, 1, 65535);
  const password = r.raw("REDIS_PASSWORD");
  return `redis://${password ? `:${encodeURIComponent(password)}@` : ""}${host}:${port}`;
}

export interface RedisClusterConfig {
  /** Seed nodes; the client discovers the rest of the cluster from them. */
  nodes: Array<{ host: string; port: number }>;
  password: string | undefined;
}

function readRedisCluster(r: EnvReader): RedisClusterConfig | undefined {
  const seeds = r.raw("REDIS_CLUSTER_NODES");
  if (seeds === undefined) return undefined;
  const nodes = seeds.split(",").map((seed) => {
    const match = /^(?:\[([\da-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(seed.trim());
    const port = Number(match?.[3]);
    return match && port >= 1 && port <= 65535 ? { host: match[1] ?? match[2]!, port } : undefined;
  });
  if (nodes.some((node) => node === undefined)) {
    r.fail(`REDIS_CLUSTER_NODES: must be comma-separated host:port seed nodes, e.g. redis-0:6379,redis-1:6379 (got "${seeds}")`);
  }
  const single = ["REDIS_URL", "REDIS_HOST", "REDIS_PORT"].filter((name) => r.raw(name) !== undefined);
  if (single.length > 0) r.fail(`REDIS_CLUSTER_NODES: cannot be combined with ${single.join(", ")}; set one or the other`);
  return { nodes: nodes.filter((node) => node !== undefined), password: r.raw("REDIS_PASSWORD") };
}

/** Redis hashes only a key's first non-empty {tag}: a prefix with one keeps all our keys in one cluster slot. */
function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf("{");
  return open >= 0 && prefix.indexOf("}", open) > open + 1;
}

function readQueuePrefix(r: EnvReader, cluster: boolean): string {
  const prefix = r.read("QUEUE_PREFIX", z.string().regex(/^[\w:{}-]+$/), "{ticketgen}", "must be letters, digits, _ - : { }");
  if (cluster && !hasHashTag(prefix)) {
    // BullMQ's scripts touch several keys of a queue at once, which a cluster only allows within one slot.
    r.fail(`QUEUE_PREFIX: must contain a hash tag such as {ticketgen} when REDIS_CLUSTER_NODES is set (got "${prefix}")`);
  }
  return prefix;
}

const SECRET_HELP =
  "set QR_SIGNATURE_SECRET to a random string of at least 32 bytes (e.g. `openssl rand -hex 32`), " +
  "or QR_SIGNING_KEYS to kid:secret,kid:secret for key rotation";

function readKeyRing(r: EnvReader): KeyRing | undefined {
  const keys = r.raw("QR_SIGNING_KEYS");
  const secret = r.raw("QR_SIGNATURE_SECRET");
  try {
    if (keys) return createKeyRing(parseSigningKeys(keys));
    if (secret) return createKeyRing([{ kid: "K1", secret: Buffer.from(secret, "utf8") }]);
    r.fail(`QR_SIGNATURE_SECRET: is not set; ${SECRET_HELP}`);
  } catch (error) {
    r.fail(`${keys ? "QR_SIGNING_KEYS" : "QR_SIGNATURE_SECRET"}: ${(error as Error).message}; ${SECRET_HELP}`);
  }
  return undefined;
}

export interface DatabaseConfig {
  /** Unset: embedded PGlite in `pgliteDir`. */
  databaseUrl: string | undefined;
  pgliteDir: string;
  dbConnectTimeoutSeconds: number;
  dbPoolSize: number;
}

function readDatabaseConfig(r: EnvReader): DatabaseConfig {
  return {
    databaseUrl: readDatabaseUrl(r),
    pgliteDir: r.raw("PGLITE_DIR") ?? ".data/pglite",
    dbConnectTimeoutSeconds: r.int("DB_CONNECT_TIMEOUT", 3, 1, 60),
    dbPoolSize: r.int("DB_POOL_SIZE", 10, 1, 200),
  };
}

/** What API and workers share: Redis, the queues, the blob store, how the QR is drawn. */
export interface CommonConfig {
  redisUrl: string;
  /** Set: a Redis Cluster, used instead of `redisUrl`. */
  redisCluster: RedisClusterConfig | undefined;
  /** Prefix of every Redis key and channel, BullMQ's included; hash-tagged by default for Redis Cluster. */
  queuePrefix: string;
  /** How long a queue call may wait for Redis before the caller moves on. */
  redisCommandTimeoutMs: number;
  queueRetryAttempts: number;
  queueRetryDelayMs: number;
  blobStore: BlobStoreOptions;
  qrSize: number;
  qrMargin: number;
  metricsPort: number;
  shutdownTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

function readBlobStore(r: EnvReader): BlobStoreOptions {
  const kind = r.read("BLOB_STORE", z.enum(["local", "s3"]), "local", "must be local or s3");
  if (kind === "local") return { kind, dir: r.raw("BLOB_DIR") ?? ".data/blobs" };
  const bucket = r.raw("S3_BUCKET");
  if (!bucket) r.fail("S3_BUCKET: is required when BLOB_STORE=s3");
  return {
    kind,
    bucket: bucket ?? "",
    endpoint: r.url("S3_ENDPOINT", ["http:", "https:"]),
    region: r.raw("S3_REGION") ?? "us-east-1",
    accessKeyId: r.raw("S3_ACCESS_KEY_ID"),
    secretAccessKey: r.raw("S3_SECRET_ACCESS_KEY"),
    forcePathStyle: r.read("S3_FORCE_PATH_STYLE", z.enum(["true", "false"]), "false", "must be true or false") === "true",
  };
}

function readCommonConfig(r: EnvReader, defaultMetricsPort: number): CommonConfig {
  const redisCluster = readRedisCluster(r);
  return {
    redisUrl: readRedisUrl(r),
    redisCluster,
    queuePrefix: readQueuePrefix(r, redisCluster !== undefined),
    redisCommandTimeoutMs: r.int("REDIS_COMMAND_TIMEOUT_MS", 1000, 50, 60_000),
    queueRetryAttempts: r.int("QUEUE_RETRY_ATTEMPTS", 3, 1, 50),
    queueRetryDelayMs: r.int("QUEUE_RETRY_DELAY", 1000, 0, 3_600_000),
    blobStore: readBlobStore(r),
    qrSize: r.int("QR_SIZE", 200, 64, 2000),
    qrMargin: r.int("QR_MARGIN", 1, 0, 16),
    metricsPort: r.int("METRICS_PORT", defaultMetricsPort, 0, 65535),
    shutdownTimeoutMs: r.int("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    logLevel: r.read("LOG_LEVEL", z.enum(LOG_LEVELS), "info", `must be one of ${LOG_LEVELS.join(", ")}`),
  };
}

function check(r: EnvReader): void {
  if (r.problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${r.problems.join("\n  ")}`);
}

/** What `pnpm db:migrate` needs: no signing keys, no Redis. */
export function loadDatabaseConfig(env: Env = process.env): DatabaseConfig {
  const r = new EnvReader(env);
  const config = readDatabaseConfig(r);
  check(r);
  return config;
}

export interface Config extends DatabaseConfig, CommonConfig {
  port: number;
  keyRing: KeyRing;
  qrExpiryHours: number;
  /** Tokens of an event with an end stay valid this long after it. */
  qrEventGraceHours: number;
  sweepIntervalMs: number;
  /** A PENDING ticket younger than this is assumed to be on its way into the queue. */
  sweepMinAgeMs: number;
  healthIntervalMs: number;
  /** Tickets per batch chunk job. */
  batchSize: number;
  /** Largest tenant template source accepted by PutTemplate, in bytes. */
  maxTemplateBytes: number;
  previewTimeoutMs: number;
  webhook: { url: string; secret: Buffer; maxAttempts: number; retryDelayMs: number } | undefined;
}

function readWebhook(r: EnvReader): Config["webhook"] {
  const url = r.url("CORE_SERVICE_WEBHOOK_URL", ["http:", "https:"]);
  if (!url) return undefined;
  const secret = r.raw("WEBHOOK_SECRET");
  if (!secret || Buffer.byteLength(secret) < 32) {
    r.fail("WEBHOOK_SECRET: must be set to at least 32 bytes when CORE_SERVICE_WEBHOOK_URL is set (it signs every delivery)");
  }
  return {
    url,
    secret: Buffer.from(secret ?? "", "utf8"),
    maxAttempts: r.int("WEBHOOK_MAX_ATTEMPTS", 15, 1, 100),
    retryDelayMs: r.int("WEBHOOK_RETRY_DELAY", 1000, 10, 3_600_000),
  };
}

/** The API's configuration. */
export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const config = {
    ...readDatabaseConfig(r),
    ...readCommonConfig(r, 9464),
    port: r.int("PORT", 3004, 0, 65535),
    keyRing: readKeyRing(r),
    qrExpiryHours: r.int("QR_EXPIRY_HOURS", 24 * 30, 1, 24 * 365 * 5),
    qrEventGraceHours: r.int("QR_EVENT_GRACE_HOURS", 6, 0, 24 * 30),
    sweepIntervalMs: r.int("SWEEP_INTERVAL_MS", 30_000, 100, 3_600_000),
    sweepMinAgeMs: r.int("SWEEP_MIN_AGE_MS", 10_000, 0, 3_600_000),
    healthIntervalMs: r.int("HEALTH_INTERVAL_MS", 2000, 100, 60_000),
    batchSize: r.int("BATCH_SIZE", 100, 1, 1000),
    maxTemplateBytes: r.int("MAX_FILE_SIZE", 256 * 1024, 1024, 16 * 1024 * 1024),
    previewTimeoutMs: r.int("PREVIEW_TIMEOUT_MS", 30_000, 1000, 600_000),
    webhook: readWebhook(r),
  };
  check(r);
  // check() has thrown when the key ring could not be read.
  return { ...config, keyRing: config.keyRing as KeyRing };
}

/** A render worker's configuration: no database, no signing keys. */
export interface WorkerConfig extends CommonConfig {
  queueConcurrency: number;
  /** A job whose worker stops renewing its lock for this long is handed to another worker. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  chromiumPath: string;
  browserMaxRenders: number;
  /** A page is closed after printing this many tickets: the renderer holds what a page printed. */
  browserPageMaxTickets: number;
  renderTimeoutMs: number;
  /** Chromium's own sandbox: `auto` runs it unless the worker is root (where Chromium refuses it). */
  chromiumSandbox: "auto" | "true" | "false";
  /** Unset: the repository's templates/. */
  templatesPath: string | undefined;
  templateCacheTtlMs: number;
  /** Template threads: one per render at once keeps a bomb from holding anyone else's ticket. */
  templateThreads: number;
  /** A ticket's template runs this long at most, on a template thread. */
  templateTimeoutMs: number;
  /** Largest HTML a template may produce for one ticket, in UTF-8 bytes. */
  templateMaxOutputBytes: number;
  /** Heap of each template thread; a template that needs more fails its ticket. */
  templateMaxMemoryMb: number;
  /** A ticket printing to more pages fails (its chunk's document is capped likewise). */
  maxPagesPerTicket: number;
}

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const r = new EnvReader(env);
  const renderTimeoutMs = r.int("RENDER_TIMEOUT_MS", 20_000, 1000, 600_000);
  const queueConcurrency = r.int("QUEUE_CONCURRENCY", 2, 1, 64);
  const config: WorkerConfig = {
    ...readCommonConfig(r, 9465),
    queueConcurrency,
    lockDurationMs: r.int("QUEUE_LOCK_DURATION_MS", Math.max(30_000, 2 * renderTimeoutMs), 1000, 3_600_000),
    stalledIntervalMs: r.int("QUEUE_STALLED_INTERVAL_MS", 15_000, 500, 3_600_000),
    maxStalledCount: r.int("QUEUE_MAX_STALLED_COUNT", 2, 0, 100),
    chromiumPath: r.raw("CHROMIUM_EXECUTABLE_PATH") ?? "/usr/bin/chromium",
    browserMaxRenders: r.int("BROWSER_MAX_RENDERS", 2000, 1, 1_000_000),
    browserPageMaxTickets: r.int("BROWSER_PAGE_MAX_TICKETS", 100, 1, 1_000_000),
    renderTimeoutMs,
    chromiumSandbox: readChromiumSandbox(r),
    templatesPath: r.raw("TEMPLATES_PATH"),
    templateCacheTtlMs: 1000 * r.int("TEMPLATE_CACHE_TTL", 300, 0, 86_400),
    templateThreads: r.int("TEMPLATE_THREADS", queueConcurrency, 1, 64),
    templateTimeoutMs: r.int("TEMPLATE_TIMEOUT_MS", 2000, 10, 600_000),
    templateMaxOutputBytes: r.int("TEMPLATE_MAX_OUTPUT_BYTES", 2 * 1024 * 1024, 16 * 1024, 256 * 1024 * 1024),
    templateMaxMemoryMb: r.int("TEMPLATE_MAX_MEMORY_MB", 64, 16, 4096),
    maxPagesPerTicket: r.int("MAX_PAGES_PER_TICKET", 10, 1, 1000),
  };
  if (config.templateTimeoutMs >= renderTimeoutMs) {
    // A chunk's templates and its print share the job's lock; a template limit is meant to end
    // a bomb well before the render timeout would.
    r.fail(`TEMPLATE_TIMEOUT_MS: must be less than RENDER_TIMEOUT_MS (${renderTimeoutMs}) (got "${config.templateTimeoutMs}")`);
  }
  check(r);
  return config;
}

function readChromiumSandbox(r: EnvReader): WorkerConfig["chromiumSandbox"] {
  const setting = r.read("CHROMIUM_SANDBOX", z.enum(["auto", "true", "false"]), "auto", "must be auto, true or false");
  if (setting === "true" && process.getuid?.() === 0) {
    r.fail("CHROMIUM_SANDBOX: Chromium will not run its sandbox as root; run the worker as a non-root user (the image's UID 1000) or set CHROMIUM_SANDBOX=auto");
  }
  return setting;
}
