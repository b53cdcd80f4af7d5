import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { AssetLimits } from "@ticketgen/shared";
import { AssetSchema, type Asset, type TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import type { AssetMeta } from "../db/schema.ts";
import { tenantOf } from "../pipeline/auth-interceptor.ts";
import { DEFAULT_PAGE_SIZE } from "../tickets/page-token.ts";
import { prepareAsset } from "./asset-content.ts";
import type { AssetPublisher } from "./asset-publisher.ts";
import type { AssetRepository } from "./asset-repository.ts";
import { decodeIdPageToken, encodeIdPageToken } from "../templates/id-page-token.ts";

function assetToProto(row: AssetMeta): Asset {
  return create(AssetSchema, {
    id: row.id,
    contentType: row.contentType,
    size: BigInt(row.size),
    sha256: row.sha256,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}

const notFound = (id: string) => new ConnectError(`asset "${id}" not found`, Code.NotFound);

/** The asset RPCs of TemplateService: images and fonts that tenant templates draw. */
export function assetHandlers(deps: {
  repository: AssetRepository;
  publisher: AssetPublisher;
  limits: AssetLimits;
}): Pick<ServiceImpl<typeof TemplateService>, "putAsset" | "getAsset" | "listAssets" | "deleteAsset"> {
  const { repository, publisher, limits } = deps;
  return {
    async putAsset(req, context) {
      const tenantId = tenantOf(context);
      const prepared = await prepareAsset(req.data, req.contentType, limits.maxBytes);
      const row = await repository.locked(tenantId, async (assets) => {
        const replaced = await assets.find(req.id);
        const usage = await assets.usageBesides(req.id);
        if (!replaced && usage.count >= limits.maxPerTenant) {
          throw new ConnectError(
            `tenant has ${usage.count} assets, the most it may keep (MAX_TENANT_ASSETS); delete one or replace an existing id`,
            Code.ResourceExhausted,
          );
        }
        if (usage.bytes + prepared.size > limits.maxTenantBytes) {
          throw new ConnectError(
            `assets would total ${usage.bytes + prepared.size} bytes; a tenant may keep at most ${limits.maxTenantBytes} bytes (MAX_TENANT_ASSET_BYTES)`,
            Code.ResourceExhausted,
          );
        }
        const stored = await assets.put({ id: req.id, ...prepared });
        await publisher.put(assets, stored, replaced?.sha256);
        return stored;
      });
      return { asset: assetToProto(row) };
    },

    async getAsset(req, context) {
      const row = await repository.find(tenantOf(context), req.id);
      if (!row) throw notFound(req.id);
      return { asset: assetToProto(row), data: row.data };
    },

    async listAssets(req, context) {
      const pageSize = req.pageSize || DEFAULT_PAGE_SIZE;
      const after = req.pageToken ? decodeIdPageToken(req.pageToken, "ListAssets") : undefined;
      const rows = await repository.list(tenantOf(context), after, pageSize + 1);
      const page = rows.slice(0, pageSize);
      const last = page.at(-1);
      return {
        assets: page.map(assetToProto),
        nextPageToken: rows.length > pageSize && last ? encodeIdPageToken(last.id) : "",
      };
    },

    async deleteAsset(req, context) {
      await repository.locked(tenantOf(context), async (assets) => {
        const deleted = await assets.delete(req.id);
        if (!deleted) throw notFound(req.id);
        await publisher.delete(assets, deleted);
      });
      return {};
    },
  };
}
