import { CommanderError } from "commander";
import type { GlobalOptions } from "./context.ts";
import { CliError, describeError } from "./errors.ts";
import { buildProgram } from "./program.ts";
import { wrongServerHint } from "./wrong-server.ts";

// `pnpm ticketgen …` runs scripts from the repository root; file arguments are meant relative
// to where the person typed the command, which pnpm passes as INIT_CWD.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

const program = buildProgram();
try {
  await program.parseAsync();
} catch (error) {
  // Commander has already printed its usage error (or the help it was asked for).
  if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else {
    const { server } = program.opts<GlobalOptions>();
    const hint = await wrongServerHint(error, server);
    process.stderr.write(`ticketgen: ${hint ?? describeError(error, server)}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  }
}
