import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/**
 * A safety net: no log line may carry a guest's e-mail or a QR token (a token lets anyone in).
 * The code never logs them; these paths catch a guest or ticket object logged by mistake.
 */
const REDACTED_PATHS = [
  "email",
  "*.email",
  "*.*.email",
  "qrPayload",
  "*.qrPayload",
  "*.*.qrPayload",
  "qr_payload",
  "*.qr_payload",
  "token",
  "*.token",
];

/**
 * drizzle's query errors carry the query's parameters (guest e-mails, QR tokens) in message and
 * stack; ioredis' errors carry the failed command's arguments (an AUTH's password, a job's data).
 */
function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  const command = serialized.command as { name?: unknown; args?: unknown } | undefined;
  if (command && typeof command === "object" && "args" in command) serialized.command = { name: command.name };
  if (error instanceof Error && "params" in error && "query" in error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    serialized.message = `Failed query: ${String(error.query)}${cause}`;
    serialized.stack = String(serialized.stack).replace(/\nparams: [\s\S]*?(?=\n\s+at )/, "");
    delete serialized.params;
  }
  return serialized;
}

/**
 * pino-pretty with LOG_FORMAT=pretty, or by default in development on a terminal; JSON
 * otherwise. pino-pretty is a devDependency, loaded only when asked for, and runs as a stream
 * in the process rather than as a pino transport: a transport finds its worker thread's files
 * next to pino's own, which the bundled services (scripts/build.ts) do not have.
 */
function prettyStream(): DestinationStream | undefined {
  const format = process.env.LOG_FORMAT ?? (process.env.NODE_ENV === "development" && process.stdout.isTTY ? "pretty" : "json");
  if (format !== "pretty") return undefined;
  const pretty = createRequire(import.meta.url)("pino-pretty") as (options: object) => DestinationStream;
  return pretty({ translateTime: "SYS:HH:MM:ss.l", sync: true });
}

/** `destination` is for tests; services log to stdout. */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? "info", destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: { err: serializeError },
  };
  const stream = destination ?? prettyStream();
  return stream ? pino(options, stream) : pino(options);
}
