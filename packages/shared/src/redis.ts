import { Cluster, Redis } from "ioredis";
import type { CommonConfig } from "./config.ts";
import { EXIT_CONFIG, EXIT_UNAVAILABLE, firstLine, StartupError } from "./startup-error.ts";

/** A single Redis or a Redis Cluster: BullMQ and every command the code sends accept either. */
export type RedisConnection = Redis | Cluster;

/** Where Redis is: `redisCluster` when set, else `redisUrl`. */
export type RedisTarget = Pick<CommonConfig, "redisUrl" | "redisCluster">;

const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 2000);

/**
 * A connection for producers and probes: commands fail at once while Redis is down instead of
 * piling up in ioredis' offline queue, so an API call never waits on a dead Redis.
 */
export function connectProducerRedis(target: RedisTarget): RedisConnection {
  const options = { maxRetriesPerRequest: 1, connectTimeout: 2000 };
  if (target.redisCluster) {
    return new Cluster(target.redisCluster.nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      redisOptions: { ...options, password: target.redisCluster.password },
    });
  }
  return new Redis(target.redisUrl, { ...options, enableOfflineQueue: false, retryStrategy: reconnectDelay });
}

/** A connection for BullMQ workers and subscribers: blocking commands must wait for Redis, never give up. */
export function connectWorkerRedis(target: RedisTarget): RedisConnection {
  if (target.redisCluster) {
    return new Cluster(target.redisCluster.nodes, {
      clusterRetryStrategy: reconnectDelay,
      redisOptions: { maxRetriesPerRequest: null, password: target.redisCluster.password },
    });
  }
  return new Redis(target.redisUrl, { maxRetriesPerRequest: null, retryStrategy: reconnectDelay });
}

/** Resolves once connected, or after `timeoutMs` (Redis may legitimately be down at start). */
export function connected(redis: RedisConnection, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
  });
}

/** Where Redis is, without its password, for messages. */
function redisAddress(target: RedisTarget): string {
  if (target.redisCluster) return target.redisCluster.nodes.map((node) => `${node.host}:${node.port}`).join(",");
  return new URL(target.redisUrl).host;
}

/** Redis answers, but refuses our credentials: waiting will not change that. */
const isAuthFailure = (error: Error) => /^(WRONGPASS|NOAUTH|ERR invalid password)/.test(error.message);

/**
 * Resolves once Redis answers. Calls `waiting` once, with one line saying where Redis was looked
 * for and why it did not answer, when the first attempt fails; after `timeoutMs` rejects with a StartupError (69) naming the setting, at once
 * (78) when Redis refuses the password.
 */
export async function redisAnswers(
  target: RedisTarget & Pick<CommonConfig, "redisSetting">,
  timeoutMs: number,
  waiting: (message: string) => void,
): Promise<void> {
  const redis = connectProducerRedis(target);
  const where = `Redis at ${redisAddress(target)}`;
  let lastError: Error | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const why = lastError ? `: ${firstLine(lastError)}` : "";
        reject(
          new StartupError(
            `${target.redisSetting}: ${where} did not answer within ${timeoutMs} ms${why}; start Redis or correct ${target.redisSetting}`,
            EXIT_UNAVAILABLE,
            { cause: lastError },
          ),
        );
      }, timeoutMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      redis.once("ready", () => settle());
      redis.on("error", (error: Error) => {
        if (isAuthFailure(error)) {
          settle(
            new StartupError(
              `REDIS_PASSWORD: ${where} refuses the password: ${firstLine(error)}; set REDIS_PASSWORD (or REDIS_PASSWORD_FILE) to the server's password`,
              EXIT_CONFIG,
              { cause: error },
            ),
          );
          return;
        }
        if (!lastError) waiting(`${where} (${target.redisSetting}) does not answer (${firstLine(error)})`);
        lastError = error;
      });
    });
  } finally {
    redis.disconnect();
  }
}
