import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { createClient } from "@connectrpc/connect";
import { DrizzleQueryError } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "@ticketgen/shared";
import { logCall } from "../src/pipeline/call-log.ts";
import { BatchService, BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketService, TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { spawnService, spawnWorker, type Spawned } from "./support/processes.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, testEnv, waitFor } from "./support/stack.ts";

const spawned: Spawned[] = [];
afterEach(() => {
  for (const child of spawned.splice(0)) child.kill();
});

function start(entry: "api" | "worker", env: Record<string, string | undefined>): Spawned {
  const child = entry === "api" ? spawnService("api", env) : spawnWorker(env);
  spawned.push(child);
  return child;
}

/** Every line a process printed, parsed: a line that is not JSON fails here, naming it. */
function lines(output: string): Array<Record<string, unknown>> {
  return output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

async function stop(child: Spawned): Promise<void> {
  child.kill("SIGTERM");
  expect(await child.exited()).toBe(0);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("logs", () => {
  it(
    "real API and worker at LOG_LEVEL=debug: JSON lines, ticket_generated with the seed's fields, one rpc line per call, no e-mail or QR token",
    { timeout: 90_000 },
    async () => {
      const env = testEnv({ LOG_LEVEL: "debug" });
      const api = start("api", env);
      const worker = start("worker", env);
      const port = (await api.outputMatching(/"port":(\d+)\D/))[1];
      const transport = grpcTransport(`http://127.0.0.1:${port}`);
      const tickets = createClient(TicketService, transport);
      const batches = createClient(BatchService, transport);

      const request = ticketRequest();
      const { ticket: created } = await tickets.createTicket(request);
      const ticket = await waitFor(
        async () => {
          const { ticket } = await tickets.getTicket({ lookup: { case: "id", value: created!.id } });
          return ticket?.status === TicketStatus.GENERATED ? ticket : undefined;
        },
        60_000,
        "ticket generated",
      );
      const batchReq = batchRequest(3);
      const { batch } = await batches.createBatch(batchReq);
      for await (const { batch: update } of batches.watchBatch({ id: batch!.id })) if (update?.status !== BatchStatus.PROCESSING) break;
      const { tickets: batchTickets } = await tickets.listTickets({ eventId: batchReq.event!.id, pageSize: 10 });
      expect(batchTickets).toHaveLength(3);
      await expect(tickets.getTicket({ lookup: { case: "id", value: randomUUID() } })).rejects.toThrow();
      await stop(api);
      await stop(worker);

      const apiLines = lines(api.output());
      const workerLines = lines(worker.output());
      for (const line of apiLines) expect(line).toMatchObject({ service: "api", level: expect.any(Number), time: expect.any(String) });
      for (const line of workerLines) expect(line).toMatchObject({ service: "render-worker" });
      for (const line of [...apiLines, ...workerLines])
        if (line.level === 30) expect(line.action, JSON.stringify(line)).toEqual(expect.any(String));

      const generated = apiLines.filter((l) => l.action === "ticket_generated");
      expect(generated.find((l) => l.ticketId === ticket.id)).toEqual(
        expect.objectContaining({
          ticketCode: ticket.ticketCode,
          eventId: request.event!.id,
          guestId: request.guest!.id,
          templateId: ticket.templateId,
          pdfSize: Number(ticket.pdfSize),
          generationTime: expect.any(Number),
        }),
      );
      expect(
        generated
          .filter((l) => l.batchId === batch!.id)
          .map((l) => l.ticketId)
          .sort(),
      ).toEqual(batchTickets.map((t) => t.id).sort());
      expect(workerLines.some((l) => l.action === "ticket_rendered" && l.ticketId === ticket.id)).toBe(true);

      const rpcs = apiLines.filter((l) => l.action === "rpc");
      for (const line of rpcs)
        expect(line).toMatchObject({
          method: expect.stringMatching(/^[\w.]+\/\w+$/),
          code: expect.any(String),
          durationMs: expect.any(Number),
        });
      const calls = (method: string) => rpcs.filter((l) => l.method === `ticketgen.v1.${method}`).map((l) => l.code);
      expect(calls("TicketService/CreateTicket")).toEqual(["OK"]);
      expect(calls("BatchService/CreateBatch")).toEqual(["OK"]);
      expect(calls("BatchService/WatchBatch")).toEqual(["OK"]);
      expect(calls("TicketService/ListTickets")).toEqual(["OK"]);
      expect(calls("TicketService/GetTicket")).toContain("NotFound");

      const secrets = [
        request.guest!.email,
        ...batchReq.guests.map((g) => g.email),
        ticket.qrPayload,
        ...batchTickets.map((t) => t.qrPayload),
      ];
      expect(secrets.every((s) => s.length > 0)).toBe(true);
      const output = api.output() + worker.output();
      for (const secret of secrets) expect(output).not.toContain(secret);
    },
  );

  it("LOG_LEVEL=warn: API and worker print no info line while serving a ticket", { timeout: 90_000 }, async () => {
    const port = await freePort();
    const env = testEnv({ LOG_LEVEL: "warn", PORT: String(port) });
    const api = start("api", env);
    const worker = start("worker", env);
    const tickets = createClient(TicketService, grpcTransport(`http://127.0.0.1:${port}`));
    const { ticket } = await waitFor(() => tickets.createTicket(ticketRequest()).catch(() => undefined), 30_000, "API answering");
    await waitFor(
      async () =>
        (await tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })).ticket?.status === TicketStatus.GENERATED
          ? true
          : undefined,
      60_000,
      "ticket generated",
    );
    await stop(api);
    await stop(worker);
    for (const line of [...lines(api.output()), ...lines(worker.output())])
      expect(line.level, JSON.stringify(line)).toBeGreaterThanOrEqual(40);
  });

  it("an OK call's rpc line is at debug, a failed call's at info", () => {
    const written = (level: string) => {
      let out = "";
      const log = logCall(
        createLogger(
          "test",
          level,
          new Writable({
            write(chunk, _encoding, done) {
              out += chunk;
              done();
            },
          }),
        ),
      );
      log({ method: "ticketgen.v1.TicketService/ValidateTicket", code: "OK", seconds: 0.0012 });
      log({ method: "ticketgen.v1.TicketService/GetTicket", code: "NotFound", seconds: 0.0034 });
      return lines(out).map(({ level, method, code, durationMs }) => ({ level, method, code, durationMs }));
    };
    const failed = { level: 30, method: "ticketgen.v1.TicketService/GetTicket", code: "NotFound", durationMs: 3.4 };
    expect(written("info")).toEqual([failed]);
    expect(written("debug")).toEqual([
      { level: 20, method: "ticketgen.v1.TicketService/ValidateTicket", code: "OK", durationMs: 1.2 },
      failed,
    ]);
  });

  it("redacts e-mails and QR tokens logged by mistake, and drizzle's query parameters in errors", () => {
    let written = "";
    const destination = new Writable({
      write(chunk, _encoding, done) {
        written += chunk;
        done();
      },
    });
    const logger = createLogger("test", "info", destination);
    logger.info({ guest: { id: "g1", email: "ada@example.com" }, ticket: { qrPayload: "TKQR-SECRET" } }, "oops");
    const cause = new Error('duplicate key value violates unique constraint "tickets_ticket_code_key"');
    logger.error(
      { err: new DrizzleQueryError("insert into tickets values ($1, $2)", ["ada@example.com", "TKQR-SECRET"], cause) },
      "unexpected error",
    );

    expect(written).not.toContain("ada@example.com");
    expect(written).not.toContain("TKQR-SECRET");
    const [mistake, error] = lines(written);
    expect(mistake).toMatchObject({ guest: { id: "g1", email: "[redacted]" }, ticket: { qrPayload: "[redacted]" } });
    expect(error!.err).toMatchObject({
      message: `Failed query: insert into tickets values ($1, $2): ${cause.message}`,
      query: "insert into tickets values ($1, $2)",
    });
    expect(String((error!.err as { stack: string }).stack)).toMatch(/\n\s+at /);
  });

  it("LOG_FORMAT=pretty prints through pino-pretty; JSON otherwise", () => {
    const script = 'import { createLogger } from "@ticketgen/shared"; createLogger("svc").info({ action: "hello" }, "a pretty line");';
    const run = (env: Record<string, string>) =>
      spawnSync("node_modules/.bin/tsx", ["--eval", script], {
        cwd: new URL("../../../", import.meta.url),
        env: { PATH: process.env.PATH, ...env },
        encoding: "utf8",
      });
    const pretty = run({ LOG_FORMAT: "pretty" });
    expect(pretty.stderr).toBe("");
    expect(pretty.stdout).toMatch(/INFO.*a pretty line/);
    expect(pretty.stdout.trimStart().startsWith("{")).toBe(false);
    expect(JSON.parse(run({}).stdout)).toMatchObject({ service: "svc", action: "hello", msg: "a pretty line" });
  });
});
