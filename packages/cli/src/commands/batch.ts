import { setTimeout } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  BatchStatus,
  CancelBatchResponseSchema,
  CreateBatchResponseSchema,
  GetBatchResponseSchema,
  WatchBatchResponseSchema,
  type Batch,
} from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import type { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import { contextOf, type Context } from "../context.ts";
import { CliError } from "../errors.ts";
import { readEventFile } from "../input/event-file.ts";
import { withFieldSources } from "../input/field-sources.ts";
import { readGuestList } from "../input/guest-list.ts";
import { batchStatusName, formatBatch, formatSavedFile } from "../output/format.ts";
import { savePdf, type SavedFile } from "../output/pdf-file.ts";
import { batchProgress } from "../output/progress.ts";
import { issueFields, withIssueOptions, type IssueOptions } from "./issue-options.ts";
import { layoutOption } from "./layout-option.ts";

/** Reconnects in a row, a second apart, before an UNAVAILABLE watch is given up. */
const WATCH_RECONNECTS = 10;
const WATCH_RECONNECT_DELAY_MS = 1000;

const TERMINAL = new Set([BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED]);

const GUEST_LIST_HELP = `
Guest list: CSV with a header row naming the columns id, first_name (or firstName), last_name
(or lastName) and email, in any order; comma or semicolon separated, UTF-8 with or without BOM,
quoted fields allowed. A file ending in .json holds an array of guests instead:
[{"id": "g-1", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}, …]`;

function required(batch: Batch | undefined): Batch {
  if (batch === undefined) throw new CliError("the server's answer has no batch");
  return batch;
}

/**
 * Follows WatchBatch until the batch ends, feeding the progress view (or, with --json, printing
 * every update). Ctrl-C stops watching only: the batch goes on on the server.
 */
async function watch(context: Context, id: string): Promise<Batch> {
  const progress = batchProgress(!context.output.json);
  const interrupted = new AbortController();
  const interrupt = () => interrupted.abort();
  process.once("SIGINT", interrupt);
  let last: Batch | undefined;
  try {
    for (let reconnects = 0; ; reconnects++) {
      try {
        for await (const response of context.batches.watchBatch({ id }, { signal: interrupted.signal })) {
          if (!response.batch) continue;
          last = response.batch;
          reconnects = 0;
          progress.update(last);
          context.output.message(WatchBatchResponseSchema, response);
          if (TERMINAL.has(last.status)) return last;
        }
        break;
      } catch (error) {
        // A draining server ends the stream UNAVAILABLE: another replica (or the restarted one) answers.
        if (interrupted.signal.aborted || ConnectError.from(error).code !== Code.Unavailable || reconnects >= WATCH_RECONNECTS) throw error;
        await setTimeout(WATCH_RECONNECT_DELAY_MS, undefined, { signal: interrupted.signal }).catch(() => undefined);
      }
    }
  } catch (error) {
    if (interrupted.signal.aborted) throw new CliError(`interrupted; batch ${id} goes on on the server (ticketgen batch watch ${id})`, 130);
    throw error;
  } finally {
    progress.stop();
    process.off("SIGINT", interrupt);
  }
  const status = last ? batchStatusName(last.status) : "no status yet";
  throw new CliError(`the server ended the watch of batch ${id} before it finished (${status}); resume with: ticketgen batch watch ${id}`);
}

/** A FAILED or CANCELLED batch is a failure of the command, after its summary. */
function failUnlessCompleted(context: Context, batch: Batch): void {
  if (batch.status === BatchStatus.COMPLETED) return;
  context.output.human(() => formatBatch(batch));
  throw new CliError(
    `batch ${batch.id} ended ${batchStatusName(batch.status)}: ${batch.completedCount} of ${batch.totalCount} generated, ${batch.failedCount} failed`,
  );
}

async function download(
  context: Context,
  id: string,
  options: { out?: string; layout: PrintLayout },
  human: (saved: SavedFile) => string,
): Promise<void> {
  const saved = await savePdf(options.out ?? `batch-${id}.pdf`, () => context.batches.downloadBatchPdf({ id, layout: options.layout }));
  context.output.record({ pdf: { batchId: id, ...saved } }, () => human(saved));
}

export function registerBatchCommands(batch: Command): void {
  withIssueOptions(batch.command("create").description("issue tickets for a whole guest list, follow the progress, then save the PDF"))
    .requiredOption("--guests <file>", "the guest list: CSV, or JSON when the name ends in .json")
    .option("--out <file>", "where to write the batch PDF (default: batch-<id>.pdf)")
    .addOption(layoutOption())
    .option("--no-watch", "return once the batch is accepted, without progress or PDF")
    .addHelpText("after", GUEST_LIST_HELP)
    .action(async (options: IssueOptions & { guests: string; out?: string; layout: PrintLayout; watch: boolean }, command: Command) => {
      const context = contextOf(command);
      const eventFile = readEventFile(options.event);
      const list = readGuestList(options.guests);
      const response = await context.batches
        .createBatch({ event: eventFile.event, guests: list.guests, ...issueFields(options, eventFile) })
        .catch((error: unknown) => {
          throw withFieldSources(error, {
            event: () => options.event,
            guests: (index) => (index === undefined ? options.guests : list.sources[index]),
          });
        });
      const created = required(response.batch);
      context.output.message(CreateBatchResponseSchema, response, () =>
        options.watch ? `batch ${created.id}: ${created.totalCount} tickets for event ${created.eventId}` : formatBatch(created),
      );
      if (!options.watch) return;
      const finished = await watch(context, created.id);
      failUnlessCompleted(context, finished);
      await download(context, finished.id, options, (saved) => formatBatch(finished, saved));
    });

  batch
    .command("watch")
    .description("show a batch's progress until it ends")
    .argument("<id>", "batch id")
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const finished = await watch(context, id);
      failUnlessCompleted(context, finished);
      context.output.human(() => formatBatch(finished));
    });

  batch
    .command("pdf")
    .description("download the PDF of a completed batch: every generated ticket, in guest-list order")
    .argument("<id>", "batch id")
    .option("--out <file>", "where to write it (default: batch-<id>.pdf)")
    .addOption(layoutOption())
    .action(async (id: string, options: { out?: string; layout: PrintLayout }, command: Command) => {
      await download(contextOf(command), id, options, (saved) => `wrote ${formatSavedFile(saved)}`);
    });

  batch
    .command("get")
    .description("show a batch")
    .argument("<id>", "batch id")
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const response = await context.batches.getBatch({ id });
      context.output.message(GetBatchResponseSchema, response, () => formatBatch(required(response.batch)));
    });

  batch
    .command("cancel")
    .description("cancel a batch that is still processing")
    .argument("<id>", "batch id")
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const response = await context.batches.cancelBatch({ id });
      context.output.message(CancelBatchResponseSchema, response, () => formatBatch(required(response.batch)));
    });
}
