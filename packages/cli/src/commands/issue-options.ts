import type { Command } from "commander";
import { CliError } from "../errors.ts";
import type { EventFile, TicketType } from "../input/event-file.ts";

/** Options shared by `ticket create` and `batch create`. */
export interface IssueOptions {
  event: string;
  ticketTypeId?: string;
  ticketTypeName?: string;
  template?: string;
  locale?: string;
  idempotencyKey?: string;
}

export function withIssueOptions(command: Command): Command {
  return command
    .requiredOption("--event <file>", "the event, a JSON file: id, name, startsAt, endsAt, location, timezone, ticketType {id, name}")
    .option("--ticket-type-id <id>", "ticket type id (default: ticketType.id of the event file)")
    .option("--ticket-type-name <name>", "ticket type name (default: ticketType.name of the event file)")
    .option("--template <id>", "tenant template id (default: the built-in template)")
    .option("--locale <tag>", "language of the ticket, a BCP 47 tag such as fr or en-GB")
    .option("--idempotency-key <key>", "a retry with the same key returns the first result instead of issuing again");
}

/** The request fields the options and the event file give, flags overriding the file. */
export function issueFields(options: IssueOptions, eventFile: EventFile) {
  return {
    ticketType: ticketType(options, eventFile),
    templateId: options.template ?? "",
    locale: options.locale ?? "",
    idempotencyKey: options.idempotencyKey ?? "",
  };
}

function ticketType(options: IssueOptions, { ticketType }: EventFile): TicketType {
  const id = options.ticketTypeId ?? ticketType?.id;
  const name = options.ticketTypeName ?? ticketType?.name;
  if (!id || !name) {
    throw new CliError(
      `no ticket type: pass --ticket-type-id and --ticket-type-name, or add "ticketType": {"id": …, "name": …} to ${options.event}`,
    );
  }
  return { id, name };
}
