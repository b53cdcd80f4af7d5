import { create } from "@bufbuild/protobuf";
import { createClient, Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchService, CreateBatchRequestSchema } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import type { CreateTicketRequest } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, type TestApi } from "./support/stack.ts";

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});

afterAll(() => api.stop());

async function rejection(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(error, "the call should have failed").toBeDefined();
  return { code: error!.code, message: error!.rawMessage };
}

const invalid = (message: string) => ({ code: Code.InvalidArgument, message });

function mutated(change: (request: CreateTicketRequest) => void): CreateTicketRequest {
  const request = ticketRequest();
  change(request);
  return request;
}

describe("request validation at the edge", () => {
  it.each([
    ["a bad e-mail", (r: CreateTicketRequest) => (r.guest!.email = "ada@"), "guest.email: must be an e-mail address"],
    ["a missing event", (r: CreateTicketRequest) => (r.event = undefined), "event: is required"],
    ["a missing guest first name", (r: CreateTicketRequest) => (r.guest!.firstName = ""), "guest.first_name: is required"],
    ["a missing start", (r: CreateTicketRequest) => (r.event!.startsAt = undefined), "event.starts_at: is required"],
    [
      "an end before the start",
      (r: CreateTicketRequest) => (r.event!.endsAt = { ...r.event!.startsAt!, seconds: r.event!.startsAt!.seconds - 60n }),
      "event.ends_at: must not be before starts_at",
    ],
    [
      "an unknown time zone",
      (r: CreateTicketRequest) => (r.event!.timezone = "Mars/Olympus"),
      "event.timezone: must be an IANA time zone such as Europe/Paris",
    ],
    ["a bad locale", (r: CreateTicketRequest) => (r.locale = "not a locale!"), "locale: must be a BCP 47 language tag such as fr or en-GB"],
    [
      "an over-long event name",
      (r: CreateTicketRequest) => (r.event!.name = "x".repeat(201)),
      "event.name: must be at most 200 characters",
    ],
    [
      "an id with spaces",
      (r: CreateTicketRequest) => (r.ticketType!.id = "v i p"),
      "ticket_type.id: must not contain spaces or control characters",
    ],
    ["a template id with a slash", (r: CreateTicketRequest) => (r.templateId = "../etc"), "template_id: must be letters, digits, _ . or -"],
    [
      "a NUL in a name",
      (r: CreateTicketRequest) => (r.guest!.lastName = "Love\u0000lace"),
      "guest.last_name: must not contain NUL (U+0000) characters",
    ],
  ])("CreateTicket with %s", async (_, change, message) => {
    expect(await rejection(api.tickets.createTicket(mutated(change)))).toEqual(invalid(message));
  });

  it("reports every violation in one message", async () => {
    const request = mutated((r) => {
      r.guest!.email = "nope";
      r.event!.name = "";
    });
    expect(await rejection(api.tickets.createTicket(request))).toEqual(
      invalid("event.name: is required; guest.email: must be an e-mail address"),
    );
  });

  it("checks oneofs, UUIDs and page sizes", async () => {
    expect(await rejection(api.tickets.getTicket({}))).toEqual(invalid("lookup: one of id or ticket_code is required"));
    expect(await rejection(api.tickets.getTicket({ lookup: { case: "id", value: "42" } }))).toEqual(invalid("id: must be a UUID"));
    expect(await rejection(api.tickets.validateTicket({ eventId: "e" }))).toEqual(
      invalid("credential: one of qr_payload or ticket_code is required"),
    );
    expect(await rejection(api.tickets.listTickets({ eventId: "e", pageSize: 501 }))).toEqual(invalid("page_size: must be at most 500"));
    expect(await rejection(api.tickets.listTickets({ eventId: "" }))).toEqual(invalid("event_id: is required"));
  });

  it("names the guest's index in a batch and enforces the list size", async () => {
    const batches = createClient(BatchService, grpcTransport(api.baseUrl));
    const base = ticketRequest();
    const guests = Array.from({ length: 3 }, (_, i) => ({ ...base.guest!, id: `g${i}` }));
    guests[2] = { ...guests[2]!, email: "broken" };
    const request = create(CreateBatchRequestSchema, { event: base.event, ticketType: base.ticketType, guests });
    expect(await rejection(batches.createBatch(request))).toEqual(invalid("guests[2].email: must be an e-mail address"));

    const empty = create(CreateBatchRequestSchema, { event: base.event, ticketType: base.ticketType });
    expect(await rejection(batches.createBatch(empty))).toEqual(invalid("guests: must list at least one guest"));
  });
});

describe("one message per violated field", () => {
  it("says only 'is required' for an empty formatted field", async () => {
    expect(await rejection(api.tickets.revokeTicket({ id: "" }))).toEqual(invalid("id: is required"));
    expect(await rejection(api.tickets.createTicket(mutated((r) => (r.guest!.email = ""))))).toEqual(invalid("guest.email: is required"));
  });
});
