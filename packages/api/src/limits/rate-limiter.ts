import { LRUCache } from "lru-cache";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from "rate-limiter-flexible";
import type { AbuseLimits, RedisConnection } from "@ticketgen/shared";
import { TurnBatch } from "../turn-batch.ts";
import { budgetOf, type Budget } from "./budgets.ts";

const WINDOW_SECONDS = 60;

/**
 * The share of a budget a process takes from Redis at once, and then lets through from memory:
 * at 2,000 validations a second, one Redis call a second instead of one per event-loop turn
 * (5 % of a ValidateTicket's API CPU). What a replica holds and does not use is lost to the
 * others until the window ends: at most this share of the budget per replica. Budgets under
 * 100 are taken call by call.
 */
const LEASE_SHARE = 0.01;
// Tenants × budgets held at once; one evicted loses its lease, as at the window's end.
const MAX_LEASES = 10_000;

/** A call let through, or refused with how long until its budget has room again (never, for a call larger than the whole budget). */
export type Admission =
  { allowed: true } | { allowed: false; budget: Budget; limit: number; cost: number; retryAfterMs: number | undefined };

const ALLOWED: Admission = { allowed: true };

export interface RateLimiterOptions {
  /** Key prefix (QUEUE_PREFIX): the budgets live in the deployment's Redis, next to its queues. */
  prefix: string;
  limits: AbuseLimits;
  /** A consume waits no longer for Redis; it is then counted in this process's memory. */
  timeoutMs: number;
}

/** The transport-neutral rate limiter: what every transport's interceptor calls, once per call. */
export interface RateLimiter {
  consume(tenantId: string, method: string, cost: number): Promise<Admission>;
}

interface Consumption {
  budget: Budget;
  tenantId: string;
  cost: number;
}

/**
 * One Redis budget (a counter per tenant and minute, shared by every replica) behind a timeout,
 * with a per-process in-memory budget of the same size as insurance while Redis is down or
 * slow. Once a tenant has spent the budget, this process refuses it from memory until the
 * minute ends, without asking Redis again.
 */
function budgetLimiter(redis: RedisConnection, keyPrefix: string, points: number, timeoutMs: number): RLWrapperTimeouts {
  const insuranceLimiter = new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS });
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points,
    duration: WINDOW_SECONDS,
    inMemoryBlockOnConsumed: points,
    rejectIfRedisNotReady: true,
    insuranceLimiter,
  });
  return new RLWrapperTimeouts({ limiter, timeoutMs, insuranceLimiter });
}

/** A budget's answer for the whole group: a refusal is a RateLimiterRes too, other errors are real. */
async function consumed(limiter: RLWrapperTimeouts, key: string, points: number): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(key, points);
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) return refusal;
    throw refusal;
  }
}

/**
 * Per-tenant budgets of calls per minute. A call is let through from the process's lease when
 * that has room; otherwise, the calls made in one turn of the event loop for the same tenant and
 * budget share one consume (one Redis round trip) of their summed cost or a new lease; each is
 * then let through in arrival order while the count stays within the budget. A refused call
 * still counts, as it does in rate-limiter-flexible, so retrying before the delay gains nothing.
 */
export function createRateLimiter(redis: RedisConnection, options: RateLimiterOptions): RateLimiter {
  const limits: Record<Budget, number> = {
    create: options.limits.createPerMinute,
    validate: options.limits.validatePerMinute,
    other: options.limits.otherPerMinute,
  };
  const limiters = Object.fromEntries(
    (Object.keys(limits) as Budget[]).map((budget) => [
      budget,
      budgetLimiter(redis, `${options.prefix}:rate-limit:${budget}`, limits[budget], options.timeoutMs),
    ]),
  ) as Record<Budget, RLWrapperTimeouts>;

  // Per tenant and budget: what this process took from Redis and has not let through yet, until the window ends.
  const leases = new LRUCache<string, { points: number }>({ max: MAX_LEASES });

  /**
   * One consume for a group (a tenant's calls on one budget in one turn) of its summed cost, or
   * of a lease when that is more; each call's admission, and the rest of the lease kept.
   */
  async function admit(key: string, group: readonly Consumption[]): Promise<Map<Consumption, Admission>> {
    const { budget, tenantId } = group[0]!;
    const limit = limits[budget];
    const total = group.reduce((sum, c) => sum + c.cost, 0);
    const points = Math.max(total, Math.floor(limit * LEASE_SHARE));
    // ':' separates the key's parts and '{' '}' are Redis Cluster hash tags: escaped, as in every key.
    const result = await consumed(limiters[budget], encodeURIComponent(tenantId), points);
    // A tenant refused from memory (its budget spent earlier in the minute) reports 0 consumed.
    const before = result.consumedPoints === 0 ? limit : result.consumedPoints - points;
    let count = before;
    const admissions = new Map<Consumption, Admission>();
    for (const consumption of group) {
      count += consumption.cost;
      admissions.set(
        consumption,
        count <= limit ? ALLOWED : { allowed: false, budget, limit, cost: consumption.cost, retryAfterMs: result.msBeforeNext },
      );
    }
    // Of the points taken, those within the budget are this process's to let through.
    const kept = Math.min(points, limit - before) - total;
    if (kept > 0 && result.msBeforeNext > 0) leases.set(key, { points: kept }, { ttl: result.msBeforeNext });
    return admissions;
  }

  const groupOf = (c: Consumption) => `${c.budget}\u0000${c.tenantId}`;
  const turns = new TurnBatch<Consumption, Admission>(async (consumptions) => {
    const groups = new Map<string, Consumption[]>();
    for (const consumption of consumptions) {
      const group = groups.get(groupOf(consumption));
      if (group) group.push(consumption);
      else groups.set(groupOf(consumption), [consumption]);
    }
    const admitted = new Map([...groups].map(([key, group]) => [key, admit(key, group)]));
    return Promise.allSettled(consumptions.map(async (c) => (await admitted.get(groupOf(c))!).get(c)!));
  });

  return {
    consume(tenantId, method, cost) {
      const budget = budgetOf(method);
      if (budget === undefined) return Promise.resolve(ALLOWED);
      const limit = limits[budget];
      if (cost > limit) return Promise.resolve({ allowed: false, budget, limit, cost, retryAfterMs: undefined });
      const consumption = { budget, tenantId, cost };
      const lease = leases.get(groupOf(consumption));
      if (lease && lease.points >= cost) {
        lease.points -= cost;
        return Promise.resolve(ALLOWED);
      }
      return turns.add(consumption);
    },
  };
}
