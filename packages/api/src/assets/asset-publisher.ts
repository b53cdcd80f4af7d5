import { Code, ConnectError } from "@connectrpc/connect";
import { assetBytesKey, assetManifestKey, type Logger, type PublishedAsset, type RedisConnection } from "@ticketgen/shared";
import type { AssetMeta } from "../db/schema.ts";
import type { RedisLossWatch } from "../queue/redis-loss-watch.ts";
import type { AssetRepository, TenantAssets } from "./asset-repository.ts";

/** The manifest value of an asset, as the render workers parse it. */
export function manifestEntry(asset: Pick<AssetMeta, "sha256" | "contentType" | "size">): string {
  const entry: PublishedAsset = { sha256: asset.sha256, contentType: asset.contentType, size: asset.size };
  return JSON.stringify(entry);
}

type Multi = ReturnType<RedisConnection["multi"]>;

/**
 * Puts tenants' assets where render workers read them without database access: per tenant a
 * manifest hash (asset id → PublishedAsset) and the bytes by content hash. PutAsset and
 * DeleteAsset write through at once, under the tenant's lock.
 *
 * Redis keeps nothing on disk, so before enqueueing a tenant's tickets the render dispatcher
 * calls `ensure`, which republishes the tenant from the table once per process, and again after
 * Redis may have lost it (RedisLossWatch). Between those, `ensure` is a map lookup:
 * CreateTicket's hot path pays nothing.
 */
export class AssetPublisher {
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly repository: AssetRepository,
    private readonly lossWatch: RedisLossWatch,
    private readonly logger: Logger,
  ) {
    // Every tenant is republished before its next render.
    lossWatch.onLoss(() => this.ensured.clear());
  }

  /** Resolves once the tenant's assets are in Redis as in the table; rejects when Redis or the database fails. */
  ensure(tenantId: string): Promise<void> {
    let done = this.ensured.get(tenantId);
    if (!done) {
      const publishing = this.repository.locked(tenantId, (assets) => this.republish(assets));
      done = publishing;
      this.ensured.set(tenantId, publishing);
      publishing.catch(() => {
        if (this.ensured.get(tenantId) === publishing) this.ensured.delete(tenantId);
      });
    }
    return done;
  }

  /** After the row is written (in the tenant's lock): bytes, then the manifest entry; the replaced bytes when no id uses them. */
  async put(assets: TenantAssets, asset: AssetMeta & { data: Buffer }, replacedSha256: string | undefined): Promise<void> {
    const multi = this.redis.multi();
    multi.set(assetBytesKey(this.prefix, assets.tenantId, asset.sha256), asset.data);
    multi.hset(assetManifestKey(this.prefix, assets.tenantId), asset.id, manifestEntry(asset));
    if (replacedSha256 && replacedSha256 !== asset.sha256 && !(await assets.hashInUse(replacedSha256))) {
      multi.del(assetBytesKey(this.prefix, assets.tenantId, replacedSha256));
    }
    await this.exec(multi);
  }

  /** After the row is deleted (in the tenant's lock): the manifest entry, then the bytes when no other id uses them. */
  async delete(assets: TenantAssets, asset: AssetMeta): Promise<void> {
    const multi = this.redis.multi();
    multi.hdel(assetManifestKey(this.prefix, assets.tenantId), asset.id);
    if (!(await assets.hashInUse(asset.sha256))) multi.del(assetBytesKey(this.prefix, assets.tenantId, asset.sha256));
    await this.exec(multi);
  }

  /** Makes Redis hold exactly the tenant's rows: missing bytes and entries written, stale entries removed. */
  private async republish(assets: TenantAssets): Promise<void> {
    const rows = await assets.all();
    const manifestKey = assetManifestKey(this.prefix, assets.tenantId);
    const published = await this.redis.hgetall(manifestKey);
    const hashes = [...new Set(rows.map((row) => row.sha256))];
    const present =
      hashes.length === 0
        ? []
        : await Promise.all(hashes.map((sha) => this.redis.exists(assetBytesKey(this.prefix, assets.tenantId, sha))));
    const multi = this.redis.multi();
    for (const [index, sha256] of hashes.entries()) {
      if (present[index]) continue;
      const data = await assets.bytesOf(sha256);
      if (data) multi.set(assetBytesKey(this.prefix, assets.tenantId, sha256), data);
    }
    const ids = new Set(rows.map((row) => row.id));
    for (const row of rows) {
      const entry = manifestEntry(row);
      if (published[row.id] !== entry) multi.hset(manifestKey, row.id, entry);
    }
    const stale = Object.keys(published).filter((id) => !ids.has(id));
    if (stale.length > 0) multi.hdel(manifestKey, ...stale);
    this.lossWatch.markIn(multi);
    await this.exec(multi);
    if (stale.length > 0 || rows.length > 0) {
      this.logger.debug(
        { action: "assets_republished", tenantId: assets.tenantId, assets: rows.length, stale: stale.length },
        "assets published",
      );
    }
  }

  private async exec(multi: Multi): Promise<void> {
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await multi.exec();
    } catch (error) {
      this.logger.warn({ action: "asset_publish_failed", err: error }, "could not publish assets to Redis");
      throw new ConnectError("the render workers' asset store (Redis) is unavailable; retry later", Code.Unavailable);
    }
    const failure = results?.find(([error]) => error)?.[0];
    if (!results || failure) {
      this.logger.warn({ action: "asset_publish_failed", err: failure }, "could not publish assets to Redis");
      throw new ConnectError("the render workers' asset store (Redis) is unavailable; retry later", Code.Unavailable);
    }
  }
}
