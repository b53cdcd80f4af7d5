import { Command, Option } from "commander";
import { DEFAULT_SERVER } from "./client.ts";
import { registerAssetCommands } from "./commands/asset.ts";
import { registerBatchCommands } from "./commands/batch.ts";
import { registerTicketCommands } from "./commands/ticket.ts";
import { registerTokenCommand } from "./commands/token.ts";
import { oneLine } from "./errors.ts";

/** The `ticketgen` command tree. Usage errors print as one `ticketgen: …` line, like every failure. */
export function buildProgram(): Command {
  const program = new Command("ticketgen")
    .description("Operate the ticketgen service: issue, inspect, validate and download tickets and batches.")
    .addOption(new Option("--server <address>", "the API: host:port or http://host:port").env("TICKETGEN_SERVER").default(DEFAULT_SERVER))
    .addOption(
      new Option("--token <jwt>", "bearer token for the API (mint one for development with `ticketgen token`)").env("TICKETGEN_TOKEN"),
    )
    .option("--json", "machine output: one JSON object per result (proto JSON), no progress bar")
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`ticketgen: ${oneLine(text.replace(/^error: /, ""))}\n`) });
  // Subcommands made with .command() inherit the settings above, so they come after them.
  registerTicketCommands(program.command("ticket").description("single tickets: create, get, validate, pdf"));
  registerBatchCommands(program.command("batch").description("batches of tickets for a guest list: create, watch, get, pdf, cancel"));
  registerAssetCommands(program.command("asset").description("the tenant's images and fonts for templates: put, list, get, delete"));
  registerTokenCommand(program.command("token"));
  return program;
}
