import { Cluster, Redis } from "ioredis";
import type { CommonConfig } from "./config.ts";

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
