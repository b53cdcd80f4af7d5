import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Command } from "commander";
import {
  CreateTicketResponseSchema,
  GetTicketResponseSchema,
  ValidateTicketResponseSchema,
  type GetTicketRequestSchema,
} from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import { contextOf, type Context } from "../context.ts";
import { CliError } from "../errors.ts";
import { readEventFile } from "../input/event-file.ts";
import { withFieldSources } from "../input/field-sources.ts";
import { readGuest } from "../input/guest-list.ts";
import { formatSavedFile, formatTicket, formatValidation } from "../output/format.ts";
import { savePdf } from "../output/pdf-file.ts";
import { validationExitCode, validationExitCodesHelp } from "./validation-exit-codes.ts";
import { issueFields, withIssueOptions, type IssueOptions } from "./issue-options.ts";
import { untilRendered } from "./ticket-rendered.ts";
import { layoutOption } from "./layout-option.ts";

/** Ticket codes are printed as TKT-…; the server accepts them in any case. */
const isTicketCode = (value: string) => value.toUpperCase().startsWith("TKT-");

function lookup(value: string): MessageInitShape<typeof GetTicketRequestSchema>["lookup"] {
  return isTicketCode(value) ? { case: "ticketCode", value } : { case: "id", value };
}

async function ticketIdOf(context: Context, value: string): Promise<string> {
  if (!isTicketCode(value)) return value;
  const { ticket } = await context.tickets.getTicket({ lookup: lookup(value) });
  return required(ticket).id;
}

export function registerTicketCommands(ticket: Command): void {
  withIssueOptions(ticket.command("create").description("issue one ticket; its PDF renders in the background"))
    .requiredOption("--guest <file>", "the guest, a JSON file: id, firstName, lastName, email")
    .action(async (options: IssueOptions & { guest: string }, command: Command) => {
      const context = contextOf(command);
      const eventFile = readEventFile(options.event);
      const guest = readGuest(options.guest);
      const response = await context.tickets
        .createTicket({ event: eventFile.event, guest, ...issueFields(options, eventFile) })
        .catch((error: unknown) => {
          throw withFieldSources(error, { event: () => options.event, guest: () => options.guest });
        });
      context.output.message(CreateTicketResponseSchema, response, () => formatTicket(required(response.ticket)));
    });

  ticket
    .command("get")
    .description("show a ticket")
    .argument("<id-or-code>", "ticket id, or ticket code (TKT-…)")
    .action(async (value: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const response = await context.tickets.getTicket({ lookup: lookup(value) });
      context.output.message(GetTicketResponseSchema, response, () => formatTicket(required(response.ticket)));
    });

  ticket
    .command("validate")
    .description("check a scanned QR payload or a typed ticket code, as a door scanner does; exits 0 only for VALID")
    .argument("<qr-payload-or-code>", "the text of the QR code (TG1.…), or a ticket code (TKT-…)")
    .option("--event-id <id>", "the event of this door: a ticket of another event is WRONG_EVENT")
    .option("--redeem", "mark the ticket used: only the first redeem is VALID")
    .addHelpText("after", validationExitCodesHelp())
    .action(async (value: string, options: { eventId?: string; redeem?: boolean }, command: Command) => {
      const context = contextOf(command);
      const response = await context.tickets.validateTicket({
        credential: isTicketCode(value) ? { case: "ticketCode", value } : { case: "qrPayload", value },
        eventId: options.eventId ?? "",
        redeem: options.redeem === true,
      });
      context.output.message(ValidateTicketResponseSchema, response, () => formatValidation(response.result, response.ticket));
      process.exitCode = validationExitCode(response.result);
    });

  ticket
    .command("pdf")
    .description("download a ticket's PDF (once its status is GENERATED)")
    .argument("<id-or-code>", "ticket id, or ticket code (TKT-…)")
    .option("--out <file>", "where to write it (default: ticket-<id>.pdf)")
    .option("--wait [seconds]", "first wait until the PDF is drawn, at most this long (default 120)")
    .addOption(layoutOption())
    .action(async (value: string, options: { out?: string; wait?: string | true; layout: PrintLayout }, command: Command) => {
      const context = contextOf(command);
      const id = await ticketIdOf(context, value);
      if (options.wait !== undefined) await untilRendered(context, id, waitSeconds(options.wait));
      const saved = await savePdf(options.out ?? `ticket-${id}.pdf`, () =>
        context.tickets.downloadTicketPdf({ id, layout: options.layout }),
      );
      context.output.record({ pdf: { ticketId: id, ...saved } }, () => `wrote ${formatSavedFile(saved)}`);
    });
}

function waitSeconds(value: string | true): number {
  if (value === true) return 120;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--wait: expected a number of seconds, got "${value}"`);
  return seconds;
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new CliError("the server's answer has no ticket");
  return value;
}
