import type { Worker } from "bullmq";
import { withTimeout, type HttpRoute } from "@ticketgen/shared";
import type { BrowserPool } from "../browser/browser-pool.ts";

export interface WorkerHealthDeps {
  /** The worker's non-blocking connection (ioredis Redis or Cluster). */
  redis: { status: string; ping(): Promise<unknown> };
  pool: BrowserPool;
  worker: Worker;
  /** Why the blob store refuses the worker's PDFs, while it does. */
  blobWrites: { readonly refusing: string | undefined };
  redisTimeoutMs: number;
}

/**
 * GET /livez and /readyz for Kubernetes, on the metrics port. Live: the event loop answers (a
 * wedged one times the probe out) and BullMQ's fetch loop runs; dependencies stay out of it, as
 * a restart brings no Redis back. Ready: Redis answers a PING, Chromium can render (judged
 * from the pool's state, so a probe never launches a browser) and the blob store took the last
 * PDF written (from a refused write until one goes through: the probe writes nothing itself);
 * unready from the start of a drain.
 */
export class WorkerHealth {
  private draining = false;

  constructor(private readonly deps: WorkerHealthDeps) {}

  drain(): void {
    this.draining = true;
  }

  get routes(): Record<string, HttpRoute> {
    return { "/livez": () => this.live(), "/readyz": () => this.ready() };
  }

  async live(): Promise<{ status: number; body: string }> {
    const { worker } = this.deps;
    // A drain or a pause stops the fetch loop on purpose: a draining pod must finish its renders.
    if (this.draining || worker.isRunning() || worker.isPaused()) return verdict([]);
    return verdict(["worker: the BullMQ worker has stopped"]);
  }

  async ready(): Promise<{ status: number; body: string }> {
    const failures: string[] = [];
    if (this.draining) failures.push("draining: shutting down");
    const redis = await this.redisFailure();
    if (redis) failures.push(`redis: ${redis}`);
    const chromium = this.deps.pool.unusable;
    if (chromium) failures.push(`chromium: ${chromium}`);
    const blobs = this.deps.blobWrites.refusing;
    if (blobs) failures.push(`blob store: ${blobs}`);
    return verdict(failures);
  }

  private async redisFailure(): Promise<string | undefined> {
    const { redis, redisTimeoutMs } = this.deps;
    // Not ready means commands wait in the offline queue: a PING would only pile up there.
    if (redis.status !== "ready") return "not connected";
    try {
      await withTimeout(redis.ping(), redisTimeoutMs, () => {
        throw new Error(`no answer to PING within ${redisTimeoutMs} ms`);
      });
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }
}

function verdict(failures: string[]): { status: number; body: string } {
  return failures.length === 0 ? { status: 200, body: "ok\n" } : { status: 503, body: `${failures.join("\n")}\n` };
}
