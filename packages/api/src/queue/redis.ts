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
