import { Code, ConnectError } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { parseTicketCode, RENDER_QUEUE, SINGLE_TICKET_PRIORITY, verifyToken } from "@ticketgen/shared";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi, type TestApi } from "./support/stack.ts";

let api: TestApi;
let queue: Queue;

beforeAll(async () => {
  api = await startTestApi();
  queue = new Queue(RENDER_QUEUE, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
});

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await api.stop();
});

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => ConnectError.from(error),
  );

describe("CreateTicket", () => {
  it("stores a PENDING ticket with a code and a signed QR token, and queues its render job", async () => {
    const request = ticketRequest();
    const { ticket } = await api.tickets.createTicket(request);
    expect(ticket?.status).toBe(TicketStatus.PENDING);
    expect(ticket?.eventId).toBe(request.event?.id);
    expect(ticket?.guestId).toBe(request.guest?.id);
    expect(parseTicketCode(ticket!.ticketCode)).toBe(ticket!.ticketCode);

    const verified = verifyToken(api.config.keyRing, ticket!.qrPayload);
    expect(verified.ok && verified.token.ticketId).toBe(ticket!.id);

    const job = await queue.getJob(ticket!.id);
    expect(job?.data).toMatchObject({
      ticketId: ticket!.id,
      ticketCode: ticket!.ticketCode,
      qrPayload: ticket!.qrPayload,
      locale: "fr",
      event: { id: request.event!.id, name: "Autumn Gala", timezone: "Europe/Paris" },
      guest: { firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
      ticketType: { id: "vip", name: "VIP" },
    });
    expect(job?.opts.priority).toBe(SINGLE_TICKET_PRIORITY);
    expect(job?.opts.attempts).toBe(api.config.queueRetryAttempts);
  });

  it("expires the token QR_EXPIRY_HOURS after issue, or at the event's end plus grace", async () => {
    const { ticket: open } = await api.tickets.createTicket(ticketRequest());
    const created = Number(open!.createdAt!.seconds);
    expect(Number(open!.validUntil!.seconds) - created).toBe(api.config.qrExpiryHours * 3600);

    const endsAt = new Date(Date.now() + 40 * 86_400_000);
    const { ticket: bounded } = await api.tickets.createTicket(ticketRequest({ endsAt }));
    const expected = Math.floor(endsAt.getTime() / 1000) + api.config.qrEventGraceHours * 3600;
    expect(Number(bounded!.validUntil!.seconds)).toBe(expected);
  });

  it("returns the same ticket for a repeated idempotency key, and refuses the key for another request", async () => {
    const request = ticketRequest({ idempotencyKey: "order-42" });
    const [a, b] = await Promise.all([api.tickets.createTicket(request), api.tickets.createTicket(request)]);
    const c = await api.tickets.createTicket(request);
    expect(b.ticket?.id).toBe(a.ticket?.id);
    expect(c.ticket?.id).toBe(a.ticket?.id);
    expect(c.ticket?.qrPayload).toBe(a.ticket?.qrPayload);

    const other = ticketRequest({ idempotencyKey: "order-42" });
    const error = await errorOf(api.tickets.createTicket(other));
    expect(error.code).toBe(Code.AlreadyExists);
    expect(error.rawMessage).toBe(`idempotency_key: was already used for a different request (ticket ${a.ticket?.id})`);
  });

  it("a burst of calls sharing one INSERT: each its own ticket, one ticket per idempotency key", async () => {
    const keyed = ticketRequest({ idempotencyKey: `burst-${randomUUID()}` });
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, () => api.tickets.createTicket(ticketRequest())),
      ...Array.from({ length: 5 }, () => api.tickets.createTicket(keyed)),
    ]);
    const ids = answers.map(({ ticket }) => ticket!.id);
    expect(new Set(ids.slice(0, 10)).size).toBe(10);
    expect(new Set(ids.slice(10))).toEqual(new Set([ids[10]]));
    for (const id of new Set(ids)) {
      expect((await api.tickets.getTicket({ lookup: { case: "id", value: id } })).ticket?.id).toBe(id);
      expect(await queue.getJob(id)).toBeDefined();
    }
  });

  it("a row the shared INSERT cannot store fails its own call only", async () => {
    const sql = postgres(inject("databaseUrl"), { max: 1 });
    const badGuest = `guest-refused-${randomUUID()}`;
    await sql.unsafe(`alter table tickets add constraint test_refused_guest check (guest_id <> '${badGuest}')`);
    try {
      const outcomes = await Promise.allSettled([
        api.tickets.createTicket(ticketRequest()),
        api.tickets.createTicket(ticketRequest({ guestId: badGuest })),
        api.tickets.createTicket(ticketRequest()),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      const refused = ConnectError.from((outcomes[1] as PromiseRejectedResult).reason);
      expect([refused.code, refused.rawMessage]).toEqual([Code.Internal, "internal error"]);
      const stored = await sql`select count(*)::int as n from tickets where guest_id = ${badGuest}`;
      expect(stored[0]!.n).toBe(0);
    } finally {
      await sql.unsafe("alter table tickets drop constraint test_refused_guest");
      await sql.end();
    }
  });

  it("refuses a ticket for an event that ended beyond the grace period", async () => {
    const error = await errorOf(
      api.tickets.createTicket(
        ticketRequest({ startsAt: new Date(Date.now() - 8 * 86_400_000), endsAt: new Date(Date.now() - 7 * 86_400_000) }),
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/^event\.ends_at: the event ended more than 6 h ago/);
  });
});

describe("GetTicket", () => {
  it("finds a ticket by id and by ticket code (any case)", async () => {
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    const byId = await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } });
    const byCode = await api.tickets.getTicket({ lookup: { case: "ticketCode", value: ticket!.ticketCode.toLowerCase() } });
    expect(byId.ticket).toEqual(ticket);
    expect(byCode.ticket).toEqual(ticket);
  });

  it("answers NOT_FOUND for unknown ids and codes", async () => {
    const id = "01900000-0000-7000-8000-000000000000";
    const error = await errorOf(api.tickets.getTicket({ lookup: { case: "id", value: id } }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe(`ticket ${id} not found`);
  });
});

describe("ListTickets", () => {
  it("pages through an event's tickets in creation order, stable under concurrent inserts", async () => {
    const eventId = `evt-list-${Date.now()}`;
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await api.tickets.createTicket(ticketRequest({ eventId }))).ticket!.id);
    await api.tickets.createTicket(ticketRequest());

    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await api.tickets.listTickets({ eventId, pageSize: 3, pageToken });
      seen.push(...page.tickets.map((t) => t.id));
      pageToken = page.nextPageToken;
      pages++;
      // Tickets created while paging land after the cursor and are listed, never duplicated.
      if (pages === 1) created.push((await api.tickets.createTicket(ticketRequest({ eventId }))).ticket!.id);
    } while (pageToken);
    expect(seen).toEqual(created);
    expect(pages).toBe(3);
  });

  it("lists every ticket created within one millisecond while paging, once each", async () => {
    const eventId = `evt-same-ms-${Date.now()}`;
    // Date stands still, so every ticket below is created in the same millisecond.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      const create = async () => (await api.tickets.createTicket(ticketRequest({ eventId }))).ticket!.id;
      const created = [await create(), await create()];
      const seen: string[] = [];
      let pageToken = "";
      for (let i = 0; i < 60; i++) {
        const page = await api.tickets.listTickets({ eventId, pageSize: 1, pageToken });
        seen.push(...page.tickets.map((t) => t.id));
        pageToken = page.nextPageToken;
        // Created after the cursor was handed out: it must sort after it.
        created.push(await create());
      }
      do {
        const page = await api.tickets.listTickets({ eventId, pageSize: 7, pageToken });
        seen.push(...page.tickets.map((t) => t.id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      expect(new Set(created.map((id) => id.slice(0, 13))).size).toBe(1);
      expect(seen).toEqual(created);
    } finally {
      vi.useRealTimers();
    }
  });

  it("rejects a page token of another event", async () => {
    const eventId = `evt-token-${Date.now()}`;
    for (let i = 0; i < 2; i++) await api.tickets.createTicket(ticketRequest({ eventId }));
    const page = await api.tickets.listTickets({ eventId, pageSize: 1 });
    const error = await errorOf(api.tickets.listTickets({ eventId: "another", pageToken: page.nextPageToken }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("page_token: is not a token returned by ListTickets for this event_id");
  });
});

describe("RevokeTicket", () => {
  it("revokes once and keeps the first reason", async () => {
    const { ticket } = await api.tickets.createTicket(ticketRequest());
    const first = await api.tickets.revokeTicket({ id: ticket!.id, reason: "refunded" });
    const second = await api.tickets.revokeTicket({ id: ticket!.id, reason: "again" });
    expect(first.ticket?.status).toBe(TicketStatus.REVOKED);
    expect(first.ticket?.revocationReason).toBe("refunded");
    expect(second.ticket?.revocationReason).toBe("refunded");
    expect(second.ticket?.revokedAt).toEqual(first.ticket?.revokedAt);
  });

  it("answers NOT_FOUND for an unknown ticket", async () => {
    const error = await errorOf(api.tickets.revokeTicket({ id: "01900000-0000-7000-8000-000000000001" }));
    expect(error.code).toBe(Code.NotFound);
  });
});
