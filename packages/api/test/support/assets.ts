import { createHash } from "node:crypto";
import { deflateSync, crc32 } from "node:zlib";
import type { Redis } from "ioredis";
import { assetBytesKey, assetManifestKey, type PublishedAsset } from "@ticketgen/shared";

/**
 * Stands in for PutAsset (built on another branch): writes the Redis keys PutAsset publishes
 * for workers (the tenant's manifest entry and the bytes by hash), exactly as the contract in
 * packages/shared/src/jobs.ts describes. Once PutAsset exists, tests call it instead.
 */
export async function publishAssetLikePutAsset(
  redis: Redis,
  prefix: string,
  tenantId: string,
  name: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<PublishedAsset> {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const asset: PublishedAsset = { sha256, contentType, size: bytes.length };
  await redis.set(assetBytesKey(prefix, tenantId, sha256), Buffer.from(bytes));
  await redis.hset(assetManifestKey(prefix, tenantId), name, JSON.stringify(asset));
  return asset;
}

/**
 * An RGB PNG of `width` × `height` pixels of deterministic noise: it does not compress, so its
 * size (about 3 bytes a pixel) is what a photographic logo of that size weighs in a PDF too.
 */
export function noisePng(width: number, height: number, seed = 1): Buffer {
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: reproducible noise without a dependency.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const raw = Buffer.alloc(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + 3 * width); // filter byte 0 (None), then the pixels
    for (let x = 0; x < 3 * width; x++) raw[row + 1 + x] = next() & 0xff;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method choice, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", deflateSync(raw)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}
