import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { checkTemplate, TemplateCompileError } from "@ticketgen/shared";
import { TemplateSchema, type TemplateService, type Template } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import type { TemplateRow } from "../db/schema.ts";
import { tenantOf } from "../pipeline/auth-interceptor.ts";
import type { TemplatePreviewer } from "./template-previewer.ts";
import type { TemplatePublisher } from "./template-publisher.ts";
import type { TemplateRepository } from "./template-repository.ts";
import { DEFAULT_PAGE_SIZE } from "../tickets/page-token.ts";
import { decodeIdPageToken, encodeIdPageToken } from "./id-page-token.ts";

function templateToProto(row: TemplateRow, withContent = true): Template {
  return create(TemplateSchema, {
    id: row.id,
    name: row.name,
    version: row.version,
    content: withContent ? row.content : "",
    createdAt: timestampFromDate(row.createdAt),
  });
}

/**
 * Rejects what would fail at render time anyway, with Handlebars' own words, and what the
 * static check of partials sees would never end or would expand past its bound (naming the
 * partial). The render workers bound the rest (time, output, memory, pages) ticket by ticket.
 */
function checkContent(content: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(content, "utf8");
  if (bytes > maxBytes) {
    throw new ConnectError(`content: is ${bytes} bytes; templates may be at most ${maxBytes} bytes (MAX_FILE_SIZE)`, Code.InvalidArgument);
  }
  try {
    checkTemplate(content);
  } catch (error) {
    if (error instanceof TemplateCompileError) throw new ConnectError(`content: ${error.message}`, Code.InvalidArgument);
    throw error;
  }
}

export function templateService(deps: {
  repository: TemplateRepository;
  publisher: TemplatePublisher;
  previewer: TemplatePreviewer;
  maxTemplateBytes: number;
  assets: Pick<ServiceImpl<typeof TemplateService>, "putAsset" | "getAsset" | "listAssets" | "deleteAsset">;
}): ServiceImpl<typeof TemplateService> {
  const { repository, publisher, previewer, maxTemplateBytes } = deps;
  const notFound = (id: string, version: number) =>
    new ConnectError(`template "${id}"${version ? ` version ${version}` : ""} not found`, Code.NotFound);
  return {
    ...deps.assets,
    async putTemplate(req, context) {
      checkContent(req.content, maxTemplateBytes);
      const row = await repository.addVersion(tenantOf(context), req.id, req.name || req.id, req.content);
      // Best effort: the render dispatcher publishes again before any ticket uses it.
      await publisher.publish(row).catch(() => {});
      return { template: templateToProto(row) };
    },

    async getTemplate(req, context) {
      const row = await repository.find(tenantOf(context), req.id, req.version);
      if (!row) throw notFound(req.id, req.version);
      return { template: templateToProto(row) };
    },

    async listTemplates(req, context) {
      const pageSize = req.pageSize || DEFAULT_PAGE_SIZE;
      const after = req.pageToken ? decodeIdPageToken(req.pageToken, "ListTemplates") : undefined;
      const rows = await repository.listLatest(tenantOf(context), after, pageSize + 1);
      const page = rows.slice(0, pageSize);
      const last = page.at(-1);
      return {
        templates: page.map((row) => templateToProto(row, false)),
        nextPageToken: rows.length > pageSize && last ? encodeIdPageToken(last.id) : "",
      };
    },

    async previewTemplate(req, context) {
      const tenantId = tenantOf(context);
      let source: { templateId: string; version: number; content: string };
      if (req.source.case === "content") {
        checkContent(req.source.value, maxTemplateBytes);
        source = { templateId: "", version: 0, content: req.source.value };
      } else {
        const templateId = req.source.value ?? "";
        const row = templateId ? await repository.find(tenantId, templateId) : undefined;
        if (templateId && !row) throw notFound(templateId, 0);
        if (row) await publisher.publish(row);
        source = { templateId, version: row?.version ?? 0, content: "" };
      }
      return { pdf: await previewer.preview(tenantId, source, req.locale, req.layout) };
    },
  };
}
