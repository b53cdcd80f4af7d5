import type { DescMethod } from "@bufbuild/protobuf";
import type { Config } from "@ticketgen/shared";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";

/**
 * The largest request each RPC accepts. CreateBatch carries up to 10,000 guests; the template
 * writes carry a template of up to MAX_FILE_SIZE bytes, twice that in the JSON of the Connect
 * protocol at worst (every quote or newline escaped), plus the ordinary limit for the other
 * fields; PutAsset carries up to MAX_ASSET_SIZE bytes, 4/3 of that in Connect's JSON (base64),
 * plus the ordinary limit, so an asset just too large meets PutAsset's own message naming
 * MAX_ASSET_SIZE; every other request is a few fields of bounded length.
 */
export function requestLimits(config: Pick<Config, "grpc" | "maxTemplateBytes" | "assets">): (method: DescMethod) => number {
  const template = 2 * config.maxTemplateBytes + config.grpc.maxRequestBytes;
  const asset = 4 * Math.ceil(config.assets.maxBytes / 3) + config.grpc.maxRequestBytes;
  const large = new Map<DescMethod, number>([
    [BatchService.method.createBatch, config.grpc.maxBatchRequestBytes],
    [TemplateService.method.putTemplate, template],
    [TemplateService.method.previewTemplate, template],
    [TemplateService.method.putAsset, asset],
  ]);
  return (method) => large.get(method) ?? config.grpc.maxRequestBytes;
}
