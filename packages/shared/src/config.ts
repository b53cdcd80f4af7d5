import { z } from "zod";
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

export interface Config extends DatabaseConfig {
  port: number;
  metricsPort: number;
  redisUrl: string;
  /** Prefix of every BullMQ key. */
  queuePrefix: string;
  keyRing: KeyRing;
  qrExpiryHours: number;
  /** Tokens of an event with an end stay valid this long after it. */
  qrEventGraceHours: number;
  qrSize: number;
  qrMargin: number;
  queueRetryAttempts: number;
  queueRetryDelayMs: number;
  /** How long a queue call may wait for Redis before the caller moves on. */
  redisCommandTimeoutMs: number;
  sweepIntervalMs: number;
  /** A PENDING ticket younger than this is assumed to be on its way into the queue. */
  sweepMinAgeMs: number;
  healthIntervalMs: number;
  shutdownTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const config = {
    port: r.int("PORT", 3004, 0, 65535),
    metricsPort: r.int("METRICS_PORT", 9464, 0, 65535),
    ...readDatabaseConfig(r),
    redisUrl: readRedisUrl(r),
    queuePrefix: r.read("QUEUE_PREFIX", z.string().regex(/^[\w:{}-]+$/), "ticketgen", "must be letters, digits, _ - : { }"),
    keyRing: readKeyRing(r),
    qrExpiryHours: r.int("QR_EXPIRY_HOURS", 24 * 30, 1, 24 * 365 * 5),
    qrEventGraceHours: r.int("QR_EVENT_GRACE_HOURS", 6, 0, 24 * 30),
    qrSize: r.int("QR_SIZE", 200, 64, 2000),
    qrMargin: r.int("QR_MARGIN", 1, 0, 16),
    queueRetryAttempts: r.int("QUEUE_RETRY_ATTEMPTS", 3, 1, 50),
    queueRetryDelayMs: r.int("QUEUE_RETRY_DELAY", 1000, 0, 3_600_000),
    redisCommandTimeoutMs: r.int("REDIS_COMMAND_TIMEOUT_MS", 1000, 50, 60_000),
    sweepIntervalMs: r.int("SWEEP_INTERVAL_MS", 30_000, 100, 3_600_000),
    sweepMinAgeMs: r.int("SWEEP_MIN_AGE_MS", 10_000, 0, 3_600_000),
    healthIntervalMs: r.int("HEALTH_INTERVAL_MS", 2000, 100, 60_000),
    shutdownTimeoutMs: r.int("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    logLevel: r.read("LOG_LEVEL", z.enum(LOG_LEVELS), "info", `must be one of ${LOG_LEVELS.join(", ")}`),
  };
  check(r);
  // check() has thrown when the key ring could not be read.
  return { ...config, keyRing: config.keyRing as KeyRing };
}
