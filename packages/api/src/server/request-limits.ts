import type { DescMethod } from "@bufbuild/protobuf";
import type { Config } from "@ticketgen/shared";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";

/**
 * The largest request each RPC accepts. CreateBatch carries up to 10,000 guests; the template
 * writes carry a template of up to MAX_FILE_SIZE bytes, twice that in the JSON of the Connect
 * protocol at worst (every quote or newline escaped), plus the ordinary limit for the other
 * fields; every other request is a few fields of bounded length.
 */
export function requestLimits(config: Pick<Config, "grpc" | "maxTemplateBytes">): (method: DescMethod) => number {
  const template = 2 * config.maxTemplateBytes + config.grpc.maxRequestBytes;
  const large = new Map<DescMethod, number>([
    [BatchService.method.createBatch, config.grpc.maxBatchRequestBytes],
    [TemplateService.method.putTemplate, template],
    [TemplateService.method.previewTemplate, template],
  ]);
  return (method) => large.get(method) ?? config.grpc.maxRequestBytes;
}
