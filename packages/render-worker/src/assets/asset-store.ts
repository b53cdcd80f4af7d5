import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { ASSET_TYPES, type PublishedAsset } from "@ticketgen/shared";
import type { TemplateAssets } from "../templates/sandbox/protocol.ts";

/** Where a worker reads tenants' assets (Redis in production: the API publishes them there). */
export interface AssetSource {
  /** The tenant's manifest: asset name → the JSON of a PublishedAsset. */
  manifest(tenantId: string): Promise<Record<string, string>>;
  /** The bytes stored under the tenant and hash; null when absent. */
  bytes(tenantId: string, sha256: string): Promise<Buffer | null>;
}

export interface AssetStoreOptions {
  /** How long a tenant's manifest is reused: a replaced logo reaches tickets this long after it is published. */
  manifestTtlMs: number;
  /** Largest total of data: URLs kept, in bytes (ASCII: base64 is about 4/3 of the asset). */
  maxCachedBytes: number;
  /** Clock in ms, for tests. Default performance.now. */
  now?: () => number;
}

/**
 * The types a data: URL may carry: what the API's sniffing lets through. A manifest entry of any
 * other type, or with a hash that is not one, is skipped, so that no string from Redis reaches a
 * ticket's markup unchecked.
 */
const DRAWABLE_TYPES = new Set<string>(ASSET_TYPES);
const SHA256_HEX = /^[0-9a-f]{64}$/;

const NO_ASSETS: TemplateAssets = { names: [], urls: {} };

/** An asset's stored bytes vanished between the manifest and the read (replaced meanwhile): a retry reads the new manifest. */
export class AssetBytesMissingError extends Error {
  override readonly name = "AssetBytesMissingError";
}

/**
 * Tenants' assets for templates, without database access: each tenant's manifest from Redis,
 * reused for `manifestTtlMs`; the bytes by content hash, turned into a data: URL once and kept
 * (least recently used dropped first, bounded in characters). Bytes are immutable by hash, so
 * only the manifest can be stale; a replaced logo has a new hash and is fetched when the
 * manifest is next read.
 */
export class AssetStore {
  private readonly manifests: LRUCache<string, Promise<Map<string, PublishedAsset>>>;
  private readonly urls: LRUCache<string, string>;
  /** Reads of bytes under way, shared by the renders that need the same hash meanwhile. */
  private readonly loading = new Map<string, Promise<string>>();
  private fetchCount = 0;

  constructor(
    private readonly source: AssetSource,
    options: AssetStoreOptions,
  ) {
    const now = options.now ?? (() => performance.now());
    this.manifests = new LRUCache({ max: 1000, ttl: Math.max(1, options.manifestTtlMs), ttlResolution: 0, perf: { now } });
    this.urls = new LRUCache({ maxSize: options.maxCachedBytes, sizeCalculation: (url) => url.length });
  }

  /** Reads of asset bytes from the source since start: one per hash while it stays cached. */
  get fetches(): number {
    return this.fetchCount;
  }

  /**
   * What a template of `tenantId` gets: the names of all the tenant's assets, and the data: URLs
   * of those among `wanted` (the names the template spells out) that exist.
   */
  async forTemplate(tenantId: string, wanted: readonly string[]): Promise<TemplateAssets> {
    if (wanted.length === 0) return NO_ASSETS;
    try {
      return await this.read(tenantId, wanted);
    } catch (error) {
      if (!(error instanceof AssetBytesMissingError)) throw error;
      // The manifest named bytes since replaced: read it again, once.
      this.manifests.delete(tenantId);
      return this.read(tenantId, wanted);
    }
  }

  private async read(tenantId: string, wanted: readonly string[]): Promise<TemplateAssets> {
    const manifest = await this.manifest(tenantId);
    const urls: Record<string, string> = {};
    for (const name of new Set(wanted)) {
      const asset = manifest.get(name);
      if (asset) urls[name] = await this.url(tenantId, name, asset);
    }
    return { names: [...manifest.keys()], urls };
  }

  private manifest(tenantId: string): Promise<Map<string, PublishedAsset>> {
    const cached = this.manifests.get(tenantId);
    if (cached) return cached;
    const loading = this.source.manifest(tenantId).then(parseManifest);
    this.manifests.set(tenantId, loading);
    loading.catch(() => {
      if (this.manifests.peek(tenantId) === loading) this.manifests.delete(tenantId);
    });
    return loading;
  }

  /** The asset's data: URL, by hash: its bytes are read and encoded once while cached. */
  private url(tenantId: string, name: string, asset: PublishedAsset): Promise<string> {
    const key = `${asset.contentType} ${asset.sha256}`;
    const cached = this.urls.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    let loading = this.loading.get(key);
    if (!loading) {
      loading = this.load(key, tenantId, name, asset).finally(() => this.loading.delete(key));
      this.loading.set(key, loading);
    }
    return loading;
  }

  private async load(key: string, tenantId: string, name: string, asset: PublishedAsset): Promise<string> {
    this.fetchCount++;
    const bytes = await this.source.bytes(tenantId, asset.sha256);
    if (bytes === null) throw new AssetBytesMissingError(`asset "${name}": its bytes (${asset.sha256}) are not in Redis`);
    if (createHash("sha256").update(bytes).digest("hex") !== asset.sha256) {
      throw new Error(`asset "${name}": the bytes stored under ${asset.sha256} do not have that hash`);
    }
    // Only the checked type and base64 ([A-Za-z0-9+/=]): nothing that could end an attribute, a
    // CSS url() or an element, so templates can insert it unescaped.
    const url = `data:${asset.contentType};base64,${bytes.toString("base64")}`;
    this.urls.set(key, url);
    return url;
  }
}

function parseManifest(fields: Record<string, string>): Map<string, PublishedAsset> {
  const assets = new Map<string, PublishedAsset>();
  for (const [name, json] of Object.entries(fields)) {
    let entry: Partial<PublishedAsset>;
    try {
      entry = JSON.parse(json) as Partial<PublishedAsset>;
    } catch {
      continue;
    }
    if (typeof entry.sha256 !== "string" || !SHA256_HEX.test(entry.sha256)) continue;
    if (typeof entry.contentType !== "string" || !DRAWABLE_TYPES.has(entry.contentType)) continue;
    assets.set(name, { sha256: entry.sha256, contentType: entry.contentType, size: Number(entry.size) || 0 });
  }
  return assets;
}
