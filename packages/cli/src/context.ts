import type { Command } from "commander";
import { connect, type Clients } from "./client.ts";
import { Output } from "./output/output.ts";

export interface GlobalOptions {
  server: string;
  token?: string;
  json?: boolean;
}

/** What every command works with: the clients for --server and the output mode of --json. */
export interface Context extends Clients {
  output: Output;
}

export function contextOf(command: Command): Context {
  const { server, token, json } = command.optsWithGlobals<GlobalOptions>();
  return { ...connect(server, token), output: new Output(json === true) };
}
