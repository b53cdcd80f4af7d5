import { closeSync, openSync, readSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { z } from "zod";
import type { BlobStoreOptions } from "./blob-store/blob-store.ts";
import { EXIT_CONFIG, StartupError } from "./startup-error.ts";
import { createKeyRing, MIN_SECRET_BYTES, parseSigningKeys, type KeyRing } from "./token/key-ring.ts";

export type Env = Record<string, string | undefined>;

/** Thrown at start-up; the message names every variable that needs fixing. */
export class ConfigError extends StartupError {
  override name = "ConfigError";
  constructor(message: string) {
    super(message, EXIT_CONFIG);
  }
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Largest file a `*_FILE` secret or a TLS file may be: a path to a log or a device is a mistake, not a secret. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** A small file's bytes, or a one-line reason naming `path` (never its content). */
function readSmallFile(path: string, maxBytes: number): Buffer | string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= maxBytes; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    return length > maxBytes ? `${path} is larger than ${maxBytes} bytes` : buffer.subarray(0, length);
  } catch (error) {
    // "ENOENT: no such file or directory, open '/run/…'": the path is said once, by us.
    return `cannot read ${path}: ${(error as Error).message.replace(/, \w+( '.*')?$/, "")}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads the variables one by one so that one bad value does not hide the others; every
 * problem is reported as `NAME: what is wrong (got "value")`, except secrets (`secret()`),
 * whose values no message ever repeats.
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

  /**
   * A secret, from `NAME` or from the file `NAME_FILE` names (a Kubernetes or compose secret
   * mounted as a file; one trailing newline is dropped). Both set, an unreadable or empty
   * file: a problem naming the variable and the path, never the value.
   */
  secret(name: string): string | undefined {
    const inline = this.raw(name);
    const path = this.raw(`${name}_FILE`);
    if (path === undefined) return inline;
    if (inline !== undefined) {
      this.fail(`${name}: set either ${name} or ${name}_FILE, not both`);
      return undefined;
    }
    const content = readSmallFile(path, MAX_SECRET_FILE_BYTES);
    if (typeof content === "string") {
      this.fail(`${name}_FILE: ${content}`);
      return undefined;
    }
    const value = content.toString("utf8").replace(/\r?\n$/, "");
    if (value === "") this.fail(`${name}_FILE: ${path} is empty`);
    return value === "" ? undefined : value;
  }

  /** `name` or `name_FILE` is set (whether or not it could be read). */
  isSet(name: string): boolean {
    return this.raw(name) !== undefined || this.raw(`${name}_FILE`) !== undefined;
  }

  /** A file named by `name` (not a secret's `_FILE`: the variable itself is the path). */
  file(name: string): Buffer | undefined {
    const path = this.raw(name);
    if (path === undefined) return undefined;
    const content = readSmallFile(path, MAX_SECRET_FILE_BYTES);
    if (typeof content !== "string") return content;
    this.fail(`${name}: ${content}`);
    return undefined;
  }

  fail(message: string): void {
    this.problems.push(message);
  }
}

/**
 * `url` with `password` added when set; a URL that already carries a password and a
 * `passwordVariable` as well is a problem (which one would win is anyone's guess).
 */
function withPassword(r: EnvReader, url: string, urlVariable: string, passwordVariable: string): string {
  const password = r.secret(passwordVariable);
  if (password === undefined) return url;
  const parsed = new URL(url);
  if (parsed.password !== "") {
    r.fail(`${passwordVariable}: cannot be combined with a password inside ${urlVariable}; keep the password in one place`);
    return url;
  }
  parsed.password = encodeURIComponent(password);
  if (parsed.username === "" && urlVariable === "DATABASE_URL") parsed.username = "postgres";
  return parsed.toString();
}

/** Which variables said where the database is, for the messages that ask to fix them. */
function databaseSettings(r: EnvReader): DatabaseConfig["databaseSettings"] {
  if (r.raw("DATABASE_URL") !== undefined) return { address: "DATABASE_URL", name: "DATABASE_URL" };
  return { address: "DB_HOST/DB_PORT", name: "DB_NAME" };
}

function readDatabaseUrl(r: EnvReader): string | undefined {
  const url = r.url("DATABASE_URL", ["postgres:", "postgresql:"]);
  if (url) return withPassword(r, url, "DATABASE_URL", "DB_PASSWORD");
  const host = r.raw("DB_HOST");
  if (!host) return undefined;
  const user = encodeURIComponent(r.raw("DB_USER") ?? "postgres");
  const password = r.secret("DB_PASSWORD");
  const auth = password ? `${user}:${encodeURIComponent(password)}` : user;
  const port = r.int("DB_PORT", 5432, 1, 65535);
  return `postgres://${auth}@${host}:${port}/${encodeURIComponent(r.raw("DB_NAME") ?? "ticketgen")}`;
}

function readRedisUrl(r: EnvReader): string {
  const url = r.url("REDIS_URL", ["redis:", "rediss:"]);
  if (url) return withPassword(r, url, "REDIS_URL", "REDIS_PASSWORD");
  const host = r.raw("REDIS_HOST") ?? "127.0.0.1";
  const port = r.int("REDIS_PORT", 6379, 1, 65535);
  const password = r.secret("REDIS_PASSWORD");
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
  return { nodes: nodes.filter((node) => node !== undefined), password: r.secret("REDIS_PASSWORD") };
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
  const rotating = r.isSet("QR_SIGNING_KEYS");
  const name = rotating ? "QR_SIGNING_KEYS" : "QR_SIGNATURE_SECRET";
  const value = r.secret(name);
  if (value === undefined) {
    if (!r.isSet(name)) r.fail(`QR_SIGNATURE_SECRET: is not set; ${SECRET_HELP}`);
    return undefined;
  }
  try {
    return createKeyRing(rotating ? parseSigningKeys(value) : [{ kid: "K1", secret: Buffer.from(value, "utf8") }]);
  } catch (error) {
    // key-ring.ts words its errors without the secrets' values.
    r.fail(`${name}: ${(error as Error).message}; ${SECRET_HELP}`);
    return undefined;
  }
}

export interface DatabaseConfig {
  /** Unset: embedded PGlite in `pgliteDir`. */
  databaseUrl: string | undefined;
  pgliteDir: string;
  dbConnectTimeoutSeconds: number;
  dbPoolSize: number;
  /** The variables that name the server and the database, for start-up messages. */
  databaseSettings: { address: "DATABASE_URL" | "DB_HOST/DB_PORT"; name: "DATABASE_URL" | "DB_NAME" };
}

function readDatabaseConfig(r: EnvReader): DatabaseConfig {
  return {
    databaseUrl: readDatabaseUrl(r),
    pgliteDir: r.raw("PGLITE_DIR") ?? ".data/pglite",
    dbConnectTimeoutSeconds: r.int("DB_CONNECT_TIMEOUT", 3, 1, 60),
    dbPoolSize: r.int("DB_POOL_SIZE", 10, 1, 200),
    databaseSettings: databaseSettings(r),
  };
}

/** What API and workers share: Redis, the queues, the blob store, how the QR is drawn. */
export interface CommonConfig {
  redisUrl: string;
  /** Set: a Redis Cluster, used instead of `redisUrl`. */
  redisCluster: RedisClusterConfig | undefined;
  /** The variable that says where Redis is, for start-up messages. */
  redisSetting: "REDIS_URL" | "REDIS_HOST/REDIS_PORT" | "REDIS_CLUSTER_NODES";
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
    accessKeyId: r.secret("S3_ACCESS_KEY_ID"),
    secretAccessKey: r.secret("S3_SECRET_ACCESS_KEY"),
    forcePathStyle: r.read("S3_FORCE_PATH_STYLE", z.enum(["true", "false"]), "false", "must be true or false") === "true",
  };
}

function readCommonConfig(r: EnvReader, defaultMetricsPort: number): CommonConfig {
  const redisCluster = readRedisCluster(r);
  return {
    redisUrl: readRedisUrl(r),
    redisCluster,
    redisSetting: redisCluster ? "REDIS_CLUSTER_NODES" : r.raw("REDIS_URL") !== undefined ? "REDIS_URL" : "REDIS_HOST/REDIS_PORT",
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
  const [only, ...more] = r.problems;
  if (only === undefined) return;
  // One problem is one line (what an operator greps for); several are listed one per line.
  throw new ConfigError(more.length === 0 ? `invalid configuration: ${only}` : `invalid configuration:\n  ${r.problems.join("\n  ")}`);
}

/** What `pnpm db:migrate` needs: no signing keys, no Redis. */
export function loadDatabaseConfig(env: Env = process.env): DatabaseConfig {
  const r = new EnvReader(env);
  const config = readDatabaseConfig(r);
  check(r);
  return config;
}

/** The gRPC port's HTTP/2 limits and optional TLS. */
export interface GrpcServerConfig {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: a client queues calls beyond it on its connection. */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: a call whose headers are larger is reset (RESOURCE_EXHAUSTED). */
  maxHeaderListBytes: number;
  /** A connection with no open stream for this long is closed; 0: never. */
  idleTimeoutMs: number;
  /** A connection quiet for this long is pinged; one whose ping goes unanswered for keepaliveTimeoutMs is closed (a dead peer). */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Largest request message of every RPC but CreateBatch and the template writes. */
  maxRequestBytes: number;
  /** Largest CreateBatch request message. */
  maxBatchRequestBytes: number;
  /** Set: HTTP/2 over TLS (ALPN h2) instead of cleartext HTTP/2. */
  tls: { cert: Buffer; key: Buffer } | undefined;
}

function readTls(r: EnvReader): GrpcServerConfig["tls"] {
  const certPath = r.raw("TLS_CERT_FILE");
  const keyPath = r.raw("TLS_KEY_FILE");
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    const [missing, set] = certPath === undefined ? ["TLS_CERT_FILE", "TLS_KEY_FILE"] : ["TLS_KEY_FILE", "TLS_CERT_FILE"];
    r.fail(`${missing}: must be set together with ${set} (TLS needs a certificate and its key); unset both for cleartext HTTP/2`);
    return undefined;
  }
  const cert = r.file("TLS_CERT_FILE");
  const key = r.file("TLS_KEY_FILE");
  if (!cert || !key) return undefined;
  let certificate: X509Certificate | undefined;
  try {
    if (cert.includes("-----BEGIN CERTIFICATE-----")) certificate = new X509Certificate(cert);
  } catch {
    // reported below
  }
  if (!certificate) {
    r.fail(`TLS_CERT_FILE: ${certPath} is not a PEM certificate`);
    return undefined;
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) {
      r.fail(`TLS_KEY_FILE: ${keyPath} is not the private key of the certificate in TLS_CERT_FILE`);
      return undefined;
    }
  } catch {
    // createPrivateKey refuses encrypted keys (no passphrase here) and anything not PEM.
    r.fail(`TLS_KEY_FILE: ${keyPath} is not an unencrypted PEM private key`);
    return undefined;
  }
  return { cert, key };
}

function readGrpcServer(r: EnvReader): GrpcServerConfig {
  return {
    maxConcurrentStreams: r.int("GRPC_MAX_CONCURRENT_STREAMS", 1000, 1, 2 ** 31 - 1),
    maxHeaderListBytes: r.int("GRPC_MAX_HEADER_LIST_BYTES", 16 * 1024, 1024, 1024 * 1024),
    idleTimeoutMs: r.int("GRPC_IDLE_TIMEOUT_MS", 300_000, 0, 86_400_000),
    keepaliveTimeMs: r.int("GRPC_KEEPALIVE_TIME_MS", 60_000, 1000, 86_400_000),
    keepaliveTimeoutMs: r.int("GRPC_KEEPALIVE_TIMEOUT_MS", 20_000, 1000, 600_000),
    maxRequestBytes: r.int("GRPC_MAX_REQUEST_BYTES", 64 * 1024, 1024, 64 * 1024 * 1024),
    maxBatchRequestBytes: r.int("GRPC_MAX_BATCH_REQUEST_BYTES", 32 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    tls: readTls(r),
  };
}

export interface Config extends DatabaseConfig, CommonConfig {
  /** gRPC (@grpc/grpc-js): platform services, door scanners, probes, reflection. */
  port: number;
  /** Connect and gRPC-Web (connect-node), over HTTP/1.1 and h2c: browsers, curl. */
  webPort: number;
  /** Origins that browsers may call WEB_PORT from; "*" allows any. Empty: no cross-origin calls. */
  corsOrigins: string[];
  grpc: GrpcServerConfig;
  keyRing: KeyRing;
  qrExpiryHours: number;
  /** Tokens of an event with an end stay valid this long after it. */
  qrEventGraceHours: number;
  /** A render outcome the API could not apply is retried after delayMs, doubling up to maxDelayMs, for as long as it takes. */
  resultRetry: { delayMs: number; maxDelayMs: number };
  sweepIntervalMs: number;
  /** A PENDING ticket younger than this is assumed to be on its way into the queue. */
  sweepMinAgeMs: number;
  /** A ticket's PDF (and its batch's) is deleted this many days after the ticket expired; unset keeps them. */
  pdfRetentionDays: number | undefined;
  /** How often PDFs past retention and blobs no ticket or batch references are deleted. */
  blobReapIntervalMs: number;
  /** An unreferenced blob younger than this may be a render whose result is not recorded yet. */
  orphanBlobMinAgeHours: number;
  healthIntervalMs: number;
  /** WatchBatch re-reads on every announcement, and this often in case one was lost. */
  watchPollIntervalMs: number;
  /** Tickets per batch chunk job. */
  batchSize: number;
  /** Largest tenant template source accepted by PutTemplate, in bytes. */
  maxTemplateBytes: number;
  assets: AssetLimits;
  previewTimeoutMs: number;
  webhook:
    | {
        url: string;
        secret: Buffer;
        previousSecret: Buffer | undefined;
        maxAttempts: number;
        retryDelayMs: number;
        /** Delivered (or given-up) events are deleted from the outbox this many days later. */
        retentionDays: number;
      }
    | undefined;
  /** Unset: no authentication (refused under NODE_ENV=production); every caller is tenant `default`. */
  auth: AuthConfig | undefined;
  abuseLimits: AbuseLimits;
}

/** What PutAsset accepts: each asset's size, and what one tenant may keep (the render workers' Redis holds every byte). */
export interface AssetLimits {
  /** Largest asset accepted by PutAsset, in bytes (before downscaling). */
  maxBytes: number;
  maxPerTenant: number;
  /** Stored bytes of all of a tenant's assets together. */
  maxTenantBytes: number;
}

function readAssetLimits(r: EnvReader): AssetLimits {
  const maxBytes = r.int("MAX_ASSET_SIZE", 2 * 1024 * 1024, 1024, 32 * 1024 * 1024);
  const maxTenantBytes = r.int("MAX_TENANT_ASSET_BYTES", 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024);
  if (maxTenantBytes < maxBytes) r.fail(`MAX_TENANT_ASSET_BYTES: must be at least MAX_ASSET_SIZE (${maxBytes}) (got "${maxTenantBytes}")`);
  return { maxBytes, maxPerTenant: r.int("MAX_TENANT_ASSETS", 100, 1, 10_000), maxTenantBytes };
}

/** Per-tenant budgets, in calls (tickets, for creation) per minute, and the batches one tenant may have processing. */
export interface AbuseLimits {
  /** CreateTicket and CreateBatch; each guest of a batch counts as one ticket. */
  createPerMinute: number;
  validatePerMinute: number;
  /** Every other RPC of the ticketgen services (not health or reflection). */
  otherPerMinute: number;
  maxBatchesInFlight: number;
}

/**
 * Defaults well above what `pnpm bench` and the tests send as one tenant in a minute, so that
 * ordinary use never meets them; tighter limits are the operator's choice.
 */
function readAbuseLimits(r: EnvReader): AbuseLimits {
  return {
    createPerMinute: r.int("RATE_LIMIT_CREATE_PER_MINUTE", 100_000, 1, 100_000_000),
    validatePerMinute: r.int("RATE_LIMIT_VALIDATE_PER_MINUTE", 300_000, 1, 100_000_000),
    otherPerMinute: r.int("RATE_LIMIT_OTHER_PER_MINUTE", 60_000, 1, 100_000_000),
    maxBatchesInFlight: r.int("MAX_BATCHES_IN_FLIGHT", 20, 1, 10_000),
  };
}

/** How callers' bearer tokens are verified: an HS256 secret, a JWKS, or both. */
export interface AuthConfig {
  jwtSecret: Uint8Array | undefined;
  /** During a rotation of the HS256 secret: tokens signed with the previous one still verify. */
  previousJwtSecret: Uint8Array | undefined;
  jwksUrl: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  /** A token naming an unknown key refetches the JWKS at most once per this interval. */
  jwksCooldownMs: number;
}

function readJwtSecret(r: EnvReader): string | undefined {
  const secret = r.secret("AUTH_JWT_SECRET");
  if (secret !== undefined && Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    r.fail(`AUTH_JWT_SECRET: must be at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -hex 32\`)`);
  }
  return secret;
}

/**
 * The API's HS256 secret (AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE) read by the API's rules,
 * for tools that mint tokens the API must accept; undefined when neither is set.
 */
export function loadJwtSecret(env: Env = process.env): string | undefined {
  const r = new EnvReader(env);
  const secret = readJwtSecret(r);
  check(r);
  return secret;
}

function readAuth(r: EnvReader, production: boolean): AuthConfig | undefined {
  const secret = readJwtSecret(r);
  const previous = r.secret("AUTH_JWT_PREVIOUS_SECRET");
  if (previous !== undefined && Buffer.byteLength(previous) < MIN_SECRET_BYTES) {
    r.fail(`AUTH_JWT_PREVIOUS_SECRET: must be at least ${MIN_SECRET_BYTES} bytes, like AUTH_JWT_SECRET`);
  }
  if (previous !== undefined && !r.isSet("AUTH_JWT_SECRET"))
    r.fail("AUTH_JWT_PREVIOUS_SECRET: is only used beside AUTH_JWT_SECRET (the new secret)");
  // In production the keys that decide who is who must come over TLS.
  const jwksUrl = r.url("AUTH_JWKS_URL", production ? ["https:"] : ["https:", "http:"]);
  const issuer = r.raw("AUTH_JWT_ISSUER");
  const audience = r.raw("AUTH_JWT_AUDIENCE");
  const jwksCooldownMs = r.int("AUTH_JWKS_COOLDOWN_MS", 30_000, 100, 3_600_000);
  if (!r.isSet("AUTH_JWT_SECRET") && r.raw("AUTH_JWKS_URL") === undefined) {
    if (production) {
      r.fail("AUTH_JWT_SECRET or AUTH_JWKS_URL: must be set under NODE_ENV=production, where every call needs a bearer token");
    }
    return undefined;
  }
  const bytes = (value: string | undefined) => (value === undefined ? undefined : Buffer.from(value, "utf8"));
  return { jwtSecret: bytes(secret), previousJwtSecret: bytes(previous), jwksUrl, issuer, audience, jwksCooldownMs };
}

function readWebhook(r: EnvReader): Config["webhook"] {
  const url = r.url("CORE_SERVICE_WEBHOOK_URL", ["http:", "https:"]);
  if (!url) return undefined;
  const secret = r.secret("WEBHOOK_SECRET");
  if (secret === undefined ? !r.isSet("WEBHOOK_SECRET") : Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    r.fail(
      `WEBHOOK_SECRET: must be set to at least ${MIN_SECRET_BYTES} bytes when CORE_SERVICE_WEBHOOK_URL is set (it signs every delivery)`,
    );
  }
  const previous = r.secret("WEBHOOK_PREVIOUS_SECRET");
  if (previous !== undefined && Buffer.byteLength(previous) < MIN_SECRET_BYTES)
    r.fail(`WEBHOOK_PREVIOUS_SECRET: must be at least ${MIN_SECRET_BYTES} bytes, like WEBHOOK_SECRET`);
  return {
    url,
    secret: Buffer.from(secret ?? "", "utf8"),
    previousSecret: previous === undefined ? undefined : Buffer.from(previous, "utf8"),
    maxAttempts: r.int("WEBHOOK_MAX_ATTEMPTS", 15, 1, 100),
    retryDelayMs: r.int("WEBHOOK_RETRY_DELAY", 1000, 10, 3_600_000),
    retentionDays: r.int("WEBHOOK_RETENTION_DAYS", 7, 0, 3650),
  };
}

function readResultRetry(r: EnvReader): Config["resultRetry"] {
  const delayMs = r.int("RESULT_RETRY_DELAY_MS", 500, 1, 600_000);
  const maxDelayMs = r.int("RESULT_RETRY_MAX_DELAY_MS", 30_000, 1, 3_600_000);
  if (maxDelayMs < delayMs) r.fail(`RESULT_RETRY_MAX_DELAY_MS: must be at least RESULT_RETRY_DELAY_MS (${delayMs})`);
  return { delayMs, maxDelayMs };
}

function readCorsOrigins(r: EnvReader): string[] {
  const origins = (r.raw("CORS_ORIGINS") ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
  for (const origin of origins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      r.fail(`CORS_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path) or "*"`);
    }
  }
  return origins;
}

/** The API's configuration. */
export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const config = {
    ...readDatabaseConfig(r),
    ...readCommonConfig(r, 9464),
    port: r.int("PORT", 3004, 0, 65535),
    webPort: r.int("WEB_PORT", 3005, 0, 65535),
    corsOrigins: readCorsOrigins(r),
    grpc: readGrpcServer(r),
    keyRing: readKeyRing(r),
    qrExpiryHours: r.int("QR_EXPIRY_HOURS", 24 * 30, 1, 24 * 365 * 5),
    qrEventGraceHours: r.int("QR_EVENT_GRACE_HOURS", 6, 0, 24 * 30),
    resultRetry: readResultRetry(r),
    sweepIntervalMs: r.int("SWEEP_INTERVAL_MS", 30_000, 100, 3_600_000),
    sweepMinAgeMs: r.int("SWEEP_MIN_AGE_MS", 10_000, 0, 3_600_000),
    pdfRetentionDays: r.raw("PDF_RETENTION_DAYS") === undefined ? undefined : r.int("PDF_RETENTION_DAYS", 0, 0, 36_500),
    blobReapIntervalMs: r.int("BLOB_REAP_INTERVAL_MS", 3_600_000, 1000, 86_400_000),
    orphanBlobMinAgeHours: r.int("ORPHAN_BLOB_MIN_AGE_HOURS", 24, 1, 24 * 30),
    healthIntervalMs: r.int("HEALTH_INTERVAL_MS", 2000, 100, 60_000),
    watchPollIntervalMs: r.int("WATCH_POLL_INTERVAL_MS", 2000, 100, 3_600_000),
    batchSize: r.int("BATCH_SIZE", 100, 1, 1000),
    maxTemplateBytes: r.int("MAX_FILE_SIZE", 256 * 1024, 1024, 16 * 1024 * 1024),
    assets: readAssetLimits(r),
    previewTimeoutMs: r.int("PREVIEW_TIMEOUT_MS", 30_000, 1000, 600_000),
    webhook: readWebhook(r),
    auth: readAuth(r, r.raw("NODE_ENV") === "production"),
    abuseLimits: readAbuseLimits(r),
  };
  check(r);
  // check() has thrown when the key ring could not be read.
  return { ...config, keyRing: config.keyRing as KeyRing };
}

/** A render worker's configuration: no database, no signing keys. */
export interface WorkerConfig extends CommonConfig {
  /**
   * How long start-up waits for Redis before exiting 69: a worker without Redis has no work.
   * Below the Kubernetes startup probe's budget (120 s), so the log says why the pod restarts.
   */
  redisStartupTimeoutMs: number;
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
  /** How long a tenant's asset manifest is reused: a replaced asset reaches tickets within it. */
  assetManifestTtlMs: number;
  /** Assets' data: URLs kept by content hash, in bytes. */
  assetCacheMaxBytes: number;
}

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const r = new EnvReader(env);
  const renderTimeoutMs = r.int("RENDER_TIMEOUT_MS", 20_000, 1000, 600_000);
  const queueConcurrency = r.int("QUEUE_CONCURRENCY", 2, 1, 64);
  const config: WorkerConfig = {
    ...readCommonConfig(r, 9465),
    redisStartupTimeoutMs: r.int("REDIS_STARTUP_TIMEOUT_MS", 60_000, 0, 3_600_000),
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
    assetManifestTtlMs: r.int("ASSET_MANIFEST_TTL_MS", 10_000, 0, 3_600_000),
    assetCacheMaxBytes: r.int("ASSET_CACHE_MAX_BYTES", 64 * 1024 * 1024, 1024 * 1024, 4 * 1024 * 1024 * 1024),
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
    r.fail(
      "CHROMIUM_SANDBOX: Chromium will not run its sandbox as root; run the worker as a non-root user (the image's UID 1000) or set CHROMIUM_SANDBOX=auto",
    );
  }
  return setting;
}
