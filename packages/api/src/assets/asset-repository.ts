import { and, asc, count, eq, gt, ne, sql, sum } from "drizzle-orm";
import type { Db } from "../db/database.ts";
import { assets, type AssetMeta, type AssetRow } from "../db/schema.ts";

const META = {
  tenantId: assets.tenantId,
  id: assets.id,
  contentType: assets.contentType,
  size: assets.size,
  sha256: assets.sha256,
  createdAt: assets.createdAt,
  updatedAt: assets.updatedAt,
};

/** One tenant's assets inside a transaction that holds the tenant's asset lock. */
export class TenantAssets {
  constructor(
    private readonly tx: Db,
    readonly tenantId: string,
  ) {}

  private readonly mine = () => eq(assets.tenantId, this.tenantId);

  all(): Promise<AssetMeta[]> {
    return this.tx.select(META).from(assets).where(this.mine());
  }

  async find(id: string): Promise<AssetMeta | undefined> {
    const [row] = await this.tx
      .select(META)
      .from(assets)
      .where(and(this.mine(), eq(assets.id, id)));
    return row;
  }

  /** How many assets, and how many bytes, the tenant keeps besides `exceptId`. */
  async usageBesides(exceptId: string): Promise<{ count: number; bytes: number }> {
    const [row] = await this.tx
      .select({ count: count(), bytes: sum(assets.size) })
      .from(assets)
      .where(and(this.mine(), ne(assets.id, exceptId)));
    return { count: Number(row?.count ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /** Inserts the id, or replaces what it holds (created_at stays). */
  async put(asset: { id: string; contentType: string; size: number; sha256: string; data: Buffer }): Promise<AssetRow> {
    const [row] = await this.tx
      .insert(assets)
      .values({ tenantId: this.tenantId, ...asset })
      .onConflictDoUpdate({
        target: [assets.tenantId, assets.id],
        set: { contentType: asset.contentType, size: asset.size, sha256: asset.sha256, data: asset.data, updatedAt: sql`now()` },
      })
      .returning();
    return row!;
  }

  async delete(id: string): Promise<AssetMeta | undefined> {
    const [row] = await this.tx
      .delete(assets)
      .where(and(this.mine(), eq(assets.id, id)))
      .returning(META);
    return row;
  }

  /** Whether another id of the tenant holds these bytes (they share a Redis key). */
  async hashInUse(sha256: string): Promise<boolean> {
    const [row] = await this.tx
      .select({ id: assets.id })
      .from(assets)
      .where(and(this.mine(), eq(assets.sha256, sha256)))
      .limit(1);
    return row !== undefined;
  }

  async bytesOf(sha256: string): Promise<Buffer | undefined> {
    const [row] = await this.tx
      .select({ data: assets.data })
      .from(assets)
      .where(and(this.mine(), eq(assets.sha256, sha256)))
      .limit(1);
    return row?.data;
  }
}

/** Tenants' images and fonts. Writes go through `locked`, so the Redis copy follows the table in order. */
export class AssetRepository {
  constructor(private readonly db: Db) {}

  /**
   * Runs `work` in a transaction holding the tenant's asset lock: puts, deletes and republishing
   * of one tenant never interleave (across replicas too), so Redis ends as the table is.
   */
  locked<T>(tenantId: string, work: (assets: TenantAssets) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`ticketgen.assets:${tenantId}`}, 0))`);
      return work(new TenantAssets(tx as unknown as Db, tenantId));
    });
  }

  async find(tenantId: string, id: string): Promise<AssetRow | undefined> {
    const [row] = await this.db
      .select()
      .from(assets)
      .where(and(eq(assets.tenantId, tenantId), eq(assets.id, id)));
    return row;
  }

  /** Metadata by id, after `afterId`. */
  list(tenantId: string, afterId: string | undefined, limit: number): Promise<AssetMeta[]> {
    const conditions = [eq(assets.tenantId, tenantId)];
    if (afterId !== undefined) conditions.push(gt(assets.id, afterId));
    return this.db
      .select(META)
      .from(assets)
      .where(and(...conditions))
      .orderBy(asc(assets.id))
      .limit(limit);
  }
}
