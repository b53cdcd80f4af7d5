import { Redis, type RedisOptions } from "ioredis";

/**
 * A connection for producers and probes: commands fail at once while Redis is down instead of
 * piling up in ioredis' offline queue, so an API call never waits on a dead Redis.
 */
export function connectProducerRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
    ...options,
  });
}

/** Resolves once connected, or after `timeoutMs` (Redis may legitimately be down at start). */
export function connected(redis: Redis, timeoutMs: number): Promise<void> {
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

/** A connection for BullMQ workers: blocking commands must wait for Redis, never give up. */
export function connectWorkerRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (attempt) => Math.min(attempt * 200, 2000) });
}
