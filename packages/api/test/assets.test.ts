import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assetBytesKey, assetManifestKey } from "@ticketgen/shared";
import type { Asset } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { DEJAVU_TTF, HOSTILE_SVG, rasterImage, ttfFont, woff2Font } from "./support/assets.ts";
import { ticketRequest } from "./support/requests.ts";
import { refusal } from "./support/refusal.ts";
import { clientsFor, startTestApi, TEST_AUTH_SECRET, testToken, waitFor, type Clients, type TestApi } from "./support/stack.ts";

const MAX_ASSET_SIZE = 1024 * 1024;

let api: TestApi;
let redis: Redis;
let a: Clients;
let b: Clients;
let prefix: string;

beforeAll(async () => {
  api = await startTestApi({
    AUTH_JWT_SECRET: TEST_AUTH_SECRET,
    MAX_ASSET_SIZE: String(MAX_ASSET_SIZE),
    MAX_TENANT_ASSETS: "4",
    MAX_TENANT_ASSET_BYTES: String(2 * 1024 * 1024),
  });
  prefix = api.config.queuePrefix;
  redis = new Redis(api.env.REDIS_URL!);
  a = clientsFor(api.baseUrl, await testToken("assets-a"));
  b = clientsFor(api.baseUrl, await testToken("assets-b"));
});

afterAll(async () => {
  redis?.disconnect();
  await api?.stop();
});

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
/** The tenant's manifest exactly as a render worker reads it. */
const manifest = async (tenantId: string) =>
  Object.fromEntries(Object.entries(await redis.hgetall(assetManifestKey(prefix, tenantId))).map(([id, json]) => [id, JSON.parse(json)]));
const publishedBytes = (tenantId: string, sha: string) => redis.getBuffer(assetBytesKey(prefix, tenantId, sha));

async function listAll(clients: Clients): Promise<Asset[]> {
  const assets: Asset[] = [];
  let pageToken = "";
  do {
    const page = await clients.templates.listAssets({ pageSize: 2, pageToken });
    assets.push(...page.assets);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return assets;
}

describe("asset round trips", () => {
  it("puts, gets, lists, replaces and deletes an asset, with Redis following each step", async () => {
    const png = await rasterImage(300, 100, "png");
    const { asset } = await a.templates.putAsset({ id: "logo", contentType: "image/png", data: png });
    expect({ id: asset?.id, type: asset?.contentType, size: asset?.size, sha: asset?.sha256 }).toEqual({
      id: "logo",
      type: "image/png",
      size: BigInt(png.length),
      sha: sha256(png),
    });
    expect(asset?.updatedAt).toEqual(asset?.createdAt);
    const got = await a.templates.getAsset({ id: "logo" });
    expect(Buffer.from(got.data).equals(png)).toBe(true);
    expect(got.asset).toEqual(asset);
    expect((await manifest("assets-a")).logo).toEqual({ sha256: sha256(png), contentType: "image/png", size: png.length });
    expect((await publishedBytes("assets-a", sha256(png)))?.equals(png)).toBe(true);

    // Replacing: new bytes and type, created_at kept, the old bytes leave Redis.
    const jpeg = await rasterImage(300, 100, "jpeg");
    const replaced = (await a.templates.putAsset({ id: "logo", data: jpeg })).asset!;
    expect(replaced.contentType).toBe("image/jpeg");
    expect(replaced.createdAt).toEqual(asset?.createdAt);
    expect(replaced.updatedAt!.seconds * 1000n + BigInt(replaced.updatedAt!.nanos) / 1_000_000n).toBeGreaterThan(
      asset!.createdAt!.seconds * 1000n + BigInt(asset!.createdAt!.nanos) / 1_000_000n,
    );
    expect((await manifest("assets-a")).logo).toEqual({ sha256: sha256(jpeg), contentType: "image/jpeg", size: jpeg.length });
    expect(await publishedBytes("assets-a", sha256(png))).toBeNull();
    expect((await listAll(a)).map((listed) => [listed.id, listed.contentType])).toEqual([["logo", "image/jpeg"]]);

    await a.templates.deleteAsset({ id: "logo" });
    expect(await refusal(a.templates.getAsset({ id: "logo" }))).toEqual({ code: "NotFound", message: 'asset "logo" not found' });
    expect(await refusal(a.templates.deleteAsset({ id: "logo" }))).toEqual({ code: "NotFound", message: 'asset "logo" not found' });
    expect(await manifest("assets-a")).toEqual({});
    expect(await publishedBytes("assets-a", sha256(jpeg))).toBeNull();
  });

  it("keeps bytes two ids share until the last one goes, and pages the list by id", async () => {
    const png = await rasterImage(64, 64, "png");
    for (const id of ["shared-2", "shared-1", "shared-3"]) await a.templates.putAsset({ id, data: png });
    expect((await listAll(a)).map((asset) => asset.id)).toEqual(["shared-1", "shared-2", "shared-3"]);
    await a.templates.deleteAsset({ id: "shared-1" });
    await a.templates.deleteAsset({ id: "shared-2" });
    expect((await publishedBytes("assets-a", sha256(png)))?.equals(png)).toBe(true);
    await a.templates.deleteAsset({ id: "shared-3" });
    expect(await publishedBytes("assets-a", sha256(png))).toBeNull();
    expect(await refusal(a.templates.listAssets({ pageToken: "bm90LWEtdG9rZW4h" }))).toEqual({
      code: "InvalidArgument",
      message: "page_token: is not a token returned by ListAssets",
    });
  });
});

describe("what PutAsset accepts", () => {
  it("validates every field at the edge", async () => {
    expect(await refusal(a.templates.putAsset({ id: "my logo", data: Buffer.from("x") }))).toEqual({
      code: "InvalidArgument",
      message: "id: must be letters, digits, _ . or -",
    });
    expect(await refusal(a.templates.putAsset({ id: "", data: new Uint8Array() }))).toEqual({
      code: "InvalidArgument",
      message: "id: is required; data: is required",
    });
    expect(await refusal(a.templates.getAsset({ id: "x".repeat(129) }))).toEqual({
      code: "InvalidArgument",
      message: "id: must be at most 128 characters",
    });
  });

  it("sniffs the type from the bytes: a declared type must agree, and anything but an image or a font is refused", async () => {
    const png = await rasterImage(10, 10, "png");
    expect(await refusal(a.templates.putAsset({ id: "liar", contentType: "image/jpeg", data: png }))).toEqual({
      code: "InvalidArgument",
      message: "content_type: is image/jpeg but data is image/png",
    });
    const allowed = "allowed: image/png, image/jpeg, image/webp, image/svg+xml, font/woff2, font/ttf";
    expect(await refusal(a.templates.putAsset({ id: "notes", data: Buffer.from("just some text\n") }))).toEqual({
      code: "InvalidArgument",
      message: `data: is of no type ticketgen recognises, which is not allowed; ${allowed}`,
    });
    expect(await refusal(a.templates.putAsset({ id: "doc", data: Buffer.from("%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n") }))).toEqual({
      code: "InvalidArgument",
      message: `data: is application/pdf, which is not allowed; ${allowed}`,
    });
    expect(await refusal(a.templates.putAsset({ id: "typed", contentType: "text/plain", data: png }))).toEqual({
      code: "InvalidArgument",
      message: `content_type: "text/plain" is not allowed; ${allowed}`,
    });
    // A PNG signature over garbage is sniffed as PNG, then refused by the decoder.
    const broken = await refusal(a.templates.putAsset({ id: "broken", data: Buffer.concat([png.subarray(0, 16), Buffer.alloc(64, 7)]) }));
    expect(broken.code).toBe("InvalidArgument");
    expect(broken.message).toMatch(/^data: is not a readable image\/png image \(/);
  });

  it("accepts WebP, JPEG (declared image/jpg), WOFF2 and TTF fonts", async () => {
    const webp = await rasterImage(20, 20, "webp");
    const jpeg = await rasterImage(20, 20, "jpeg");
    const woff2 = await woff2Font();
    const ttf = ttfFont();
    const types = [
      (await b.templates.putAsset({ id: "photo.webp", data: webp })).asset?.contentType,
      (await b.templates.putAsset({ id: "photo.jpg", contentType: "image/jpg", data: jpeg })).asset?.contentType,
      (await b.templates.putAsset({ id: "font.woff2", contentType: "font/woff2", data: woff2 })).asset?.contentType,
      (await b.templates.putAsset({ id: "font.ttf", data: ttf })).asset?.contentType,
    ];
    expect(types).toEqual(["image/webp", "image/jpeg", "font/woff2", "font/ttf"]);
    const font = await b.templates.getAsset({ id: "font.woff2" });
    expect(Buffer.from(font.data).equals(woff2)).toBe(true);
    expect((await manifest("assets-b"))["font.ttf"]).toEqual({ sha256: sha256(ttf), contentType: "font/ttf", size: ttf.length });
    for (const id of ["photo.webp", "photo.jpg", "font.woff2", "font.ttf"]) await b.templates.deleteAsset({ id });
  });

  it("stores SVGs without script, event handlers, foreignObject, external references or fetching CSS", async () => {
    const { asset } = await a.templates.putAsset({ id: "hostile", contentType: "image/svg+xml", data: Buffer.from(HOSTILE_SVG) });
    const stored = Buffer.from((await a.templates.getAsset({ id: "hostile" })).data);
    const text = stored.toString("utf8");
    for (const banned of [
      "<script",
      "onload",
      "onclick",
      "alert",
      "foreignObject",
      "iframe",
      "evil.example",
      "@import",
      "javascript:",
      "<set",
      "<animate",
      "data:image/svg+xml",
      "passwd",
      "\\72",
      ".imported",
    ]) {
      expect(text, `stored SVG contains ${banned}`).not.toContain(banned);
    }
    // A style sheet that fetches goes whole; what draws the logo survives: the gradient by
    // same-document reference, <use> of a local shape, an inline PNG.
    expect(text).toContain('fill="url(#brand)"');
    expect(text).toContain(".logo { fill: url(#brand) }");
    expect(text).toMatch(/<use (xlink:)?href="#dot"/);
    expect(text).toContain("data:image/png;base64,iVBORw0KGgo=");
    expect(text).toContain(">Gala</text>");
    expect(asset).toMatchObject({ contentType: "image/svg+xml", size: BigInt(stored.length), sha256: sha256(stored) });
    const metadata = await sharp(stored).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(["svg", 120, 60]);
    expect((await publishedBytes("assets-a", sha256(stored)))?.equals(stored)).toBe(true);
    await a.templates.deleteAsset({ id: "hostile" });
  });

  it("downscales raster images beyond 2,000 px on their longest side, keeping the format", async () => {
    for (const [format, width, height, expected] of [
      ["png", 4000, 3000, [2000, 1500]],
      ["webp", 1500, 4000, [750, 2000]],
    ] as const) {
      const data = await rasterImage(width, height, format);
      const { asset } = await a.templates.putAsset({ id: `big-${format}`, data });
      const stored = Buffer.from((await a.templates.getAsset({ id: `big-${format}` })).data);
      const metadata = await sharp(stored).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual([format, ...expected]);
      expect(asset).toMatchObject({ size: BigInt(stored.length), sha256: sha256(stored) });
      await a.templates.deleteAsset({ id: `big-${format}` });
    }
    const small = await rasterImage(2000, 500, "png");
    const kept = await a.templates.putAsset({ id: "wide", data: small });
    expect(kept.asset?.sha256).toBe(sha256(small));
    await a.templates.deleteAsset({ id: "wide" });
  });

  it("refuses more than MAX_ASSET_SIZE bytes, naming it", async () => {
    const data = Buffer.concat([await rasterImage(10, 10, "png"), Buffer.alloc(MAX_ASSET_SIZE)]);
    expect(await refusal(a.templates.putAsset({ id: "huge", data }))).toEqual({
      code: "InvalidArgument",
      message: `data: is ${data.length} bytes; assets may be at most ${MAX_ASSET_SIZE} bytes (MAX_ASSET_SIZE)`,
    });
  });

  it("caps a tenant's assets by number (MAX_TENANT_ASSETS) and total bytes (MAX_TENANT_ASSET_BYTES)", async () => {
    const capped = clientsFor(api.baseUrl, await testToken("assets-capped"));
    for (let i = 1; i <= 4; i++) await capped.templates.putAsset({ id: `icon-${i}`, data: await rasterImage(8 + i, 8, "png") });
    expect(await refusal(capped.templates.putAsset({ id: "icon-5", data: await rasterImage(8, 8, "png") }))).toEqual({
      code: "ResourceExhausted",
      message: "tenant has 4 assets, the most it may keep (MAX_TENANT_ASSETS); delete one or replace an existing id",
    });
    // Replacing an id is no new asset.
    await capped.templates.putAsset({ id: "icon-4", data: ttfFont() });
    await capped.templates.putAsset({ id: "icon-3", data: ttfFont(DEJAVU_TTF.replace("DejaVuSans", "DejaVuSans-Bold")) });
    const third = ttfFont(DEJAVU_TTF.replace("DejaVuSans", "DejaVuSans-Oblique"));
    const { message, code } = await refusal(capped.templates.putAsset({ id: "icon-2", data: third }));
    expect(code).toBe("ResourceExhausted");
    expect(message).toMatch(/^assets would total \d+ bytes; a tenant may keep at most 2097152 bytes \(MAX_TENANT_ASSET_BYTES\)$/);
    expect((await capped.templates.getAsset({ id: "icon-2" })).asset?.contentType).toBe("image/png");
  });
});

describe("tenants' assets never meet", () => {
  it("another tenant's asset is NOT_FOUND on Get and Delete, absent from List, and its Redis copy untouched", async () => {
    const png = await rasterImage(40, 40, "png");
    await a.templates.putAsset({ id: "brand", data: png });
    const before = await manifest("assets-a");
    for (const probe of [(id: string) => b.templates.getAsset({ id }), (id: string) => b.templates.deleteAsset({ id })]) {
      const theirs = await refusal(probe("brand"));
      const missing = await refusal(probe("no-such-asset"));
      expect(theirs).toEqual({ code: "NotFound", message: missing.message.replaceAll("no-such-asset", "brand") });
    }
    expect((await listAll(b)).map((asset) => asset.id)).not.toContain("brand");
    // B's own "brand" is another asset, under B's keys.
    const jpeg = await rasterImage(40, 40, "jpeg");
    await b.templates.putAsset({ id: "brand", data: jpeg });
    await b.templates.deleteAsset({ id: "brand" });
    expect(await manifest("assets-a")).toEqual(before);
    expect((await publishedBytes("assets-a", sha256(png)))?.equals(png)).toBe(true);
    expect(Buffer.from((await a.templates.getAsset({ id: "brand" })).data).equals(png)).toBe(true);
    await a.templates.deleteAsset({ id: "brand" });
  });
});

describe("republishing", () => {
  it("puts a tenant's assets back in Redis before its next ticket once Redis lost them, dropping stale entries", async () => {
    const png = await rasterImage(50, 20, "png");
    const woff2 = await woff2Font();
    await a.templates.putAsset({ id: "kept.png", data: png });
    await a.templates.putAsset({ id: "kept.woff2", data: woff2 });
    const published = await manifest("assets-a");
    expect(Object.keys(published).sort()).toEqual(["kept.png", "kept.woff2"]);
    // This process has published the tenant for its tickets: only noticing the loss brings them back.
    await a.tickets.createTicket(ticketRequest());
    // Redis loses every asset key and the API's marker (a flush), and an entry no row backs appears.
    const keys = await redis.keys(`${prefix}:asset*`);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    await redis.del(...keys, `${prefix}:published`);
    await redis.hset(
      assetManifestKey(prefix, "assets-a"),
      "ghost",
      JSON.stringify({ sha256: "0".repeat(64), contentType: "image/png", size: 1 }),
    );
    await waitFor(
      async () => {
        await a.tickets.createTicket(ticketRequest());
        return (await redis.hexists(assetManifestKey(prefix, "assets-a"), "ghost")) === 0 ? true : undefined;
      },
      // A bound, not a speed check: the probe runs every HEALTH_INTERVAL_MS (200 ms here).
      30_000,
      "assets republished",
    );
    expect(await manifest("assets-a")).toEqual(published);
    expect((await publishedBytes("assets-a", sha256(png)))?.equals(png)).toBe(true);
    expect((await publishedBytes("assets-a", sha256(woff2)))?.equals(woff2)).toBe(true);
  });
});
