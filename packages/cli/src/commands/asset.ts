import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import {
  GetAssetResponseSchema,
  ListAssetsResponseSchema,
  PutAssetResponseSchema,
  type Asset,
} from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { contextOf } from "../context.ts";
import { CliError, fileProblem } from "../errors.ts";
import { readInputFile } from "../input/files.ts";

function formatAsset(asset: Asset | undefined): string {
  if (!asset) throw new CliError("the server's answer has no asset");
  const updated = asset.updatedAt ? new Date(Number(asset.updatedAt.seconds) * 1000).toISOString() : "";
  return `${asset.id}\t${asset.contentType}\t${asset.size} bytes\tsha256 ${asset.sha256}\tupdated ${updated}`;
}

export function registerAssetCommands(asset: Command): void {
  asset
    .command("put")
    .description("store an image (PNG, JPEG, WebP, SVG) or a font (WOFF2, TTF) for templates; an existing id is replaced")
    .argument("<id>", "the asset id templates name: letters, digits, _ . or -")
    .argument("<file>", "the image or font; its type is read from its bytes")
    .option("--content-type <type>", "the type you expect (the server refuses the file if it is something else)")
    .action(async (id: string, file: string, options: { contentType?: string }, command: Command) => {
      const context = contextOf(command);
      const response = await context.templates.putAsset({ id, contentType: options.contentType ?? "", data: readInputFile(file) });
      context.output.message(PutAssetResponseSchema, response, () => formatAsset(response.asset));
    });

  asset
    .command("list")
    .description("list the tenant's assets by id")
    .action(async (_options: unknown, command: Command) => {
      const context = contextOf(command);
      let pageToken = "";
      do {
        const page = await context.templates.listAssets({ pageSize: 100, pageToken });
        context.output.message(ListAssetsResponseSchema, page, () => page.assets.map(formatAsset).join("\n"));
        pageToken = page.nextPageToken;
      } while (pageToken);
    });

  asset
    .command("get")
    .description("show an asset, and with --out save its stored bytes")
    .argument("<id>", "the asset id")
    .option("--out <file>", "where to write the stored bytes")
    .action(async (id: string, options: { out?: string }, command: Command) => {
      const context = contextOf(command);
      const response = await context.templates.getAsset({ id });
      if (options.out) {
        await writeFile(options.out, response.data).catch((error: unknown) => {
          throw new CliError(`${options.out}: ${fileProblem(error)}`);
        });
        context.output.record(
          { asset: { id, file: options.out, size: response.data.length } },
          () => `wrote ${options.out} (${response.data.length} bytes)`,
        );
      } else {
        context.output.message(GetAssetResponseSchema, { ...response, data: new Uint8Array() }, () => formatAsset(response.asset));
      }
    });

  asset
    .command("delete")
    .description("remove an asset; templates that still name it fail to render")
    .argument("<id>", "the asset id")
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      await context.templates.deleteAsset({ id });
      context.output.record({ deleted: { id } }, () => `deleted ${id}`);
    });
}
