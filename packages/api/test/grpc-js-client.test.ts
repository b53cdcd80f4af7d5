/* eslint-disable @typescript-eslint/no-explicit-any -- a client loaded from .proto files at run time has no static types */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./support/stack.ts";

/**
 * The reference client: @grpc/grpc-js with the .proto files loaded at run time, sharing no
 * code with the server (no generated types, no connect).
 */
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const definition = protoLoader.loadSync(["ticketgen/v1/ticket.proto", "health/v1/health.proto"], {
  includeDirs: [`${repoRoot}proto`, `${repoRoot}packages/api/node_modules/grpc-health-check/proto`],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(definition) as any;

type Call = (request: object) => Promise<any>;
function promisify(client: grpc.Client, method: string): Call {
  return (request) =>
    new Promise((resolve, reject) =>
      (client as any)[method](request, (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response))),
    );
}

let api: TestApi;
let tickets: grpc.Client;
let health: grpc.Client;

beforeAll(async () => {
  api = await startTestApi();
  const address = `127.0.0.1:${api.app.port}`;
  tickets = new loaded.ticketgen.v1.TicketService(address, grpc.credentials.createInsecure());
  health = new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  tickets.close();
  health.close();
  await api.stop();
});

const createRequest = {
  event: {
    id: "evt-grpc-js",
    name: "Jazz Night",
    starts_at: { seconds: String(Math.floor(Date.now() / 1000) + 86_400), nanos: 0 },
    location: "Lyon",
    timezone: "Europe/Paris",
  },
  guest: { id: "g-1", first_name: "Grace", last_name: "Hopper", email: "grace@example.com" },
  ticket_type: { id: "std", name: "Standard" },
  locale: "en",
};

describe("a plain @grpc/grpc-js client", () => {
  it("creates, reads, validates and revokes a ticket", async () => {
    const { ticket } = await promisify(tickets, "CreateTicket")(createRequest);
    expect(ticket.status).toBe("TICKET_STATUS_PENDING");
    expect(ticket.ticket_code).toMatch(/^TKT-[0-9A-Z]+-[A-Z0-9]{6}-[0-9A-F]{8}$/);

    const got = await promisify(tickets, "GetTicket")({ ticket_code: ticket.ticket_code });
    expect(got.ticket.id).toBe(ticket.id);

    const verdict = await promisify(tickets, "ValidateTicket")({ qr_payload: ticket.qr_payload, event_id: "evt-grpc-js", redeem: true });
    expect(verdict.result).toBe("VALIDATION_RESULT_VALID");

    const revoked = await promisify(tickets, "RevokeTicket")({ id: ticket.id, reason: "test" });
    expect(revoked.ticket.status).toBe("TICKET_STATUS_REVOKED");
  });

  it("receives INVALID_ARGUMENT with the field path, and NOT_FOUND", async () => {
    const bad = { ...createRequest, guest: { ...createRequest.guest, email: "grace" } };
    await expect(promisify(tickets, "CreateTicket")(bad)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: "guest.email: must be an e-mail address",
    });
    await expect(promisify(tickets, "GetTicket")({ id: "01900000-0000-7000-8000-00000000abcd" })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: "ticket 01900000-0000-7000-8000-00000000abcd not found",
    });
  });

  it("checks health for the server and for each service, NOT_FOUND for unknown ones", async () => {
    const check = promisify(health, "Check");
    expect(await check({ service: "" })).toEqual({ status: "SERVING" });
    expect(await check({ service: "ticketgen.v1.TicketService" })).toEqual({ status: "SERVING" });
    await expect(check({ service: "nope.Service" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("streams health changes through Watch", async () => {
    const stream = (health as any).Watch({ service: "" }) as grpc.ClientReadableStream<{ status: string }>;
    const statuses: string[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (message) => {
        statuses.push(message.status);
        if (statuses.length === 1) api.app.health.drain();
        if (statuses.length === 2) resolve();
      });
      stream.on("error", reject);
    });
    stream.cancel();
    expect(statuses).toEqual(["SERVING", "NOT_SERVING"]);
  });
});
