/**
 * The API and a render worker as child processes on local defaults (embedded PGlite, local
 * Redis, PDFs on disk), and what a caller needs to drive them over gRPC: the demo and the
 * README's pictures go through the real service path with it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@ticketgen/shared/gen/health/v1/health_pb";
import { TicketStatus, type Ticket, type TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";

export interface LocalStack {
  baseUrl: string;
  api: ChildProcess;
  worker: ChildProcess;
  /** Resolves once the API answers SERVING; rejects when it exits first or takes over 60 s. */
  serving(): Promise<void>;
  /** The ticket once its render is over (GENERATED or FAILED), asked of `tickets` every 200 ms for up to 120 s. */
  rendered(tickets: Client<typeof TicketService>, id: string): Promise<Ticket>;
  /** Stops both processes (SIGTERM) and resolves once they have exited. */
  stop(): Promise<void>;
}

/**
 * Starts the API and a render worker with `env` (which must set PORT, the API's gRPC port),
 * logging to this process' stdout and stderr.
 */
export function startLocalStack(env: NodeJS.ProcessEnv & { PORT: string }): LocalStack {
  const baseUrl = `http://127.0.0.1:${env.PORT}`;
  const start = (entry: string) => spawn("node_modules/.bin/tsx", [entry], { env, stdio: ["ignore", "inherit", "inherit"] });
  const api = start("packages/api/src/main.ts");
  const worker = start("packages/render-worker/src/main.ts");
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  const stopped = (child: ChildProcess) =>
    new Promise<void>((done) => (child.exitCode !== null ? done() : (child.once("exit", () => done()), child.kill("SIGTERM"))));

  return {
    baseUrl,
    api,
    worker,
    async serving() {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (api.exitCode !== null) throw new Error(`the API exited with code ${api.exitCode}`);
        const status = await health.check({}).then(
          (r) => r.status,
          () => undefined,
        );
        if (status === HealthCheckResponse_ServingStatus.SERVING) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error("the API did not become SERVING within 60 s");
    },
    async rendered(tickets, id) {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const { ticket } = await tickets.getTicket({ lookup: { case: "id", value: id } });
        if (ticket && ticket.status !== TicketStatus.PENDING) return ticket;
        if (worker.exitCode !== null) throw new Error(`the render worker exited with code ${worker.exitCode}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`ticket ${id} was not rendered within 120 s`);
    },
    async stop() {
      await Promise.all([stopped(worker), stopped(api)]);
    },
  };
}

/** Sends `jwt` as the bearer token of every call. */
export const bearer =
  (jwt: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${jwt}`);
    return next(req);
  };

/** A gRPC client of `service` on `baseUrl` calling with `jwt`. */
export function authorisedClient<S extends Parameters<typeof createClient>[0]>(service: S, baseUrl: string, jwt: string): Client<S> {
  return createClient(service, createGrpcTransport({ baseUrl, interceptors: [bearer(jwt)] }));
}

/** The whole file of a PDF download stream (DownloadTicketPdf, DownloadBatchPdf). */
export async function downloaded(stream: AsyncIterable<{ chunk: Uint8Array }>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
