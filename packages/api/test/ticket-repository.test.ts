import { inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDatabaseConfig } from "@ticketgen/shared";
import { openDatabase, type Db } from "../src/db/database.ts";
import * as schema from "../src/db/schema.ts";
import { BatchRepository } from "../src/batches/batch-repository.ts";
import { INSERT_BATCH_ROWS, TicketRepository, type IssuedTicketRow } from "../src/tickets/ticket-repository.ts";
import { scratchDatabase, type ScratchDatabase } from "./support/database.ts";

// More rows than one INSERT carries.
const ROWS = 4_500;

let database: ScratchDatabase;
let client: postgres.Sql;
let db: Db;
const statements: string[] = [];

beforeAll(async () => {
  database = await scratchDatabase("repository");
  const migrated = await openDatabase(loadDatabaseConfig({ DATABASE_URL: database.url }));
  await migrated.migrate();
  await migrated.close();
  client = postgres(database.url, { max: 4, onnotice: () => {}, debug: (_connection, query) => statements.push(query) });
  db = drizzle(client, { schema });
});

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

function issuedRow(tenantId: string, n: number): IssuedTicketRow {
  return {
    id: uuidv7(),
    tenantId,
    ticketCode: `TK-${tenantId}-${n}`,
    eventId: "gala",
    guestId: `guest-${n}`,
    ticketTypeId: "std",
    status: "PENDING",
    qrPayload: `payload-${n}`,
    templateId: "classic",
    templateVersion: 0,
    locale: "fr",
    event: { id: "gala", name: "Gala", startsAt: "2030-01-01T19:00:00.000Z", endsAt: null, location: "Paris", timezone: "Europe/Paris" },
    guest: { id: `guest-${n}`, firstName: "Ada", lastName: `Guest ${n}`, email: `guest${n}@example.com` },
    ticketType: { id: "std", name: "Standard" },
    idempotencyKey: null,
    requestHash: null,
    batchId: null,
    batchPosition: null,
    createdAt: new Date(),
    validUntil: new Date(Date.now() + 86_400_000),
    pdfSize: null,
    pdfSha256: null,
    pdfKey: null,
    failureReason: null,
    generatedAt: null,
    redeemedAt: null,
    revokedAt: null,
    revocationReason: null,
  };
}

const inserts = () => statements.filter((query) => /^insert into "tickets"/i.test(query)).length;

describe("TicketRepository, one event-loop turn of thousands of calls", () => {
  it(`stores ${ROWS.toLocaleString("en")} inserts of one turn in a few multi-row INSERTs, and finds them all in one turn`, async () => {
    const repository = new TicketRepository(db);
    const rows = Array.from({ length: ROWS }, (_, n) => issuedRow("acme", n));
    const before = inserts();
    const inserted = await Promise.all(rows.map((row) => repository.insert(row)));
    expect(inserted.map((row) => row?.id)).toEqual(rows.map((row) => row.id));
    // Not one statement a row: each INSERT carries up to INSERT_BATCH_ROWS rows.
    expect(inserts() - before).toBe(Math.ceil(ROWS / INSERT_BATCH_ROWS));

    const byId = await Promise.all(rows.map((row) => repository.findById("acme", row.id)));
    expect(byId.map((row) => row?.ticketCode)).toEqual(rows.map((row) => row.ticketCode));
    const byCode = await Promise.all(rows.map((row) => repository.findByCode("acme", row.ticketCode)));
    expect(byCode.map((row) => row?.id)).toEqual(rows.map((row) => row.id));
  });

  it("answers each insert with the row as PostgreSQL stored it, every column", async () => {
    const repository = new TicketRepository(db);
    const keyed: IssuedTicketRow = {
      ...issuedRow("acme", 90_001),
      idempotencyKey: "order-7",
      requestHash: "a".repeat(64),
      status: "PENDING",
      templateVersion: 3,
      event: {
        id: "gala",
        name: 'Gala "Nuit" 🎉',
        startsAt: "2030-01-01T19:00:00.000Z",
        endsAt: "2030-01-02T02:00:00.000Z",
        location: "",
        timezone: "UTC",
      },
    };
    const rows = [keyed, issuedRow("acme", 90_002)];
    const inserted = await Promise.all(rows.map((row) => repository.insert(row)));
    const stored = await db
      .select()
      .from(schema.tickets)
      .where(
        inArray(
          schema.tickets.id,
          rows.map((row) => row.id),
        ),
      );
    expect(inserted).toEqual(rows.map((row) => stored.find((s) => s.id === row.id)));
    // The same idempotency key again: not stored, and answered as such.
    expect(await repository.insert({ ...issuedRow("acme", 90_003), idempotencyKey: "order-7" })).toBeUndefined();
  });

  it("idempotency keys looked up in one turn share one query, each tenant finding only its own", async () => {
    const repository = new TicketRepository(db);
    const keyed = (tenantId: string, n: number) => ({ ...issuedRow(tenantId, 80_000 + n), idempotencyKey: `order-${n}` });
    const mine = [keyed("acme", 1), keyed("acme", 2)];
    const theirs = keyed("tenant-c", 1);
    await Promise.all([...mine, theirs].map((row) => repository.insert(row)));
    const lookups = () => statements.filter((query) => /"idempotency_key" = any\(/.test(query)).length;
    const before = lookups();
    const found = await Promise.all([
      repository.findByIdempotencyKey("acme", "order-1"),
      repository.findByIdempotencyKey("acme", "order-2"),
      repository.findByIdempotencyKey("acme", "order-3"),
      repository.findByIdempotencyKey("tenant-c", "order-1"),
      repository.findByIdempotencyKey("tenant-c", "order-2"),
    ]);
    expect(found.map((row) => row?.id)).toEqual([mine[0]!.id, mine[1]!.id, undefined, theirs.id, undefined]);
    // One statement per tenant of the turn.
    expect(lookups() - before).toBe(2);
  });

  it("a malformed id, another tenant's id and an unknown id among thousands of lookups of one turn are missing, the rest found", async () => {
    const repository = new TicketRepository(db);
    const rows = Array.from({ length: ROWS }, (_, n) => issuedRow("tenant-b", n));
    await Promise.all(rows.map((row) => repository.insert(row)));
    const [acme] = await db.select().from(schema.tickets).limit(1);
    const found = await Promise.all([
      repository.findById("tenant-b", "not-a-uuid"),
      repository.findById("tenant-b", acme!.id),
      repository.findById("tenant-b", uuidv7()),
      ...rows.map((row) => repository.findById("tenant-b", row.id)),
    ]);
    expect(acme!.tenantId).toBe("acme");
    expect(found.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(found.slice(3).map((row) => row?.id)).toEqual(rows.map((row) => row.id));
  });
});

describe("TicketRepository, what a lookup reads", () => {
  it("finds tickets without their snapshots; printing reads the whole row, of its own tenant only", async () => {
    const repository = new TicketRepository(db);
    const row = issuedRow("snapshots", 1);
    await repository.insert(row);
    const { event, guest, ticketType, redeemedAt: _, ...facts } = row;
    for (const found of [
      await repository.findById("snapshots", row.id),
      await repository.findByCode("snapshots", row.ticketCode),
      ...(await repository.listByEvent("snapshots", row.eventId, undefined, 10)),
      await repository.redeem("snapshots", row.id, new Date()),
    ]) {
      expect(found).toMatchObject(facts);
      expect(found).not.toHaveProperty("event");
      expect(found).not.toHaveProperty("guest");
      expect(found).not.toHaveProperty("ticketType");
    }
    expect(await repository.findWithSnapshots("snapshots", row.id)).toMatchObject({ id: row.id, event, guest, ticketType });
    expect(await repository.findWithSnapshots("acme", row.id)).toBeUndefined();
    expect(await repository.findWithSnapshots("snapshots", "not-a-uuid")).toBeUndefined();
  });
});

describe("TicketRepository, a tenant far larger than the average one", () => {
  /** Whether the statement, as a generic plan (what a prepared statement settles on), reads the tenant's index range. */
  async function readsTenantRange(statement: string, args: string[], types = "text, text[]"): Promise<boolean> {
    return client.begin(async (tx) => {
      await tx.unsafe("set local plan_cache_mode = force_generic_plan");
      await tx.unsafe(`prepare lookup (${types}) as ${statement}`);
      const literals = args.map((arg) => `'${arg.replaceAll("'", "''")}'`).join(", ");
      const [plan] = await tx.unsafe(`explain (format json) execute lookup(${literals})`);
      await tx.unsafe("deallocate lookup");
      return JSON.stringify(plan).includes("tickets_tenant_event_id");
    });
  }

  it("looks tickets up by id, by code and by batch through those keys' indexes, never through the tenant's whole range", async () => {
    // The big tenant's first 10,000 tickets are a batch.
    const batchId = uuidv7();
    await client`
      insert into tickets (id, tenant_id, ticket_code, event_id, guest_id, ticket_type_id, qr_payload, template_id, locale, event, guest, ticket_type,
        valid_until, batch_id, batch_position)
      select gen_random_uuid(), case when n <= 20000 then 'organiser-big' else 'organiser-' || (n % 2000) end, 'PLAN-' || n, 'gala', 'g' || n,
        'std', 'payload', '', 'en', '{}', '{}', '{}', now() + interval '1 day',
        case when n <= 10000 then ${batchId}::uuid end, case when n <= 10000 then n - 1 end
      from generate_series(1, 40000) n`;
    await client`analyze tickets`;
    const repository = new TicketRepository(db);
    const [big] = await client<
      Array<{ id: string; ticket_code: string }>
    >`select id, ticket_code from tickets where tenant_id = 'organiser-big' limit 1`;
    const before = statements.length;
    expect((await repository.findById("organiser-big", big!.id))?.ticketCode).toBe(big!.ticket_code);
    expect((await repository.findByCode("organiser-big", big!.ticket_code))?.id).toBe(big!.id);
    expect(await repository.findById("organiser-1", big!.id)).toBeUndefined();
    const page = await new BatchRepository(db).ticketsAt({ tenantId: "organiser-big", id: batchId }, 200, 300);
    expect(page.map((row) => row.batchPosition)).toEqual(Array.from({ length: 100 }, (_, i) => 200 + i));
    const [byId, byCode, byBatch] = [/"id" = any\(/, /"ticket_code" = any\(/, /"batch_position" >= /].map((pattern) =>
      statements.slice(before).find((s) => pattern.test(s))!,
    );

    expect(await readsTenantRange(byId!, ["organiser-big", `{${big!.id}}`])).toBe(false);
    expect(await readsTenantRange(byCode!, ["organiser-big", `{${big!.ticket_code}}`])).toBe(false);
    expect(await readsTenantRange(byBatch!, ["organiser-big", batchId, "200", "300"], "text, uuid, int, int")).toBe(false);
    // The premise: with `tenant_id = $1`, the planner does read the range here.
    const plainTenant = byId!.replace(/"tenant_id" is not distinct from/, '"tenant_id" =');
    expect(plainTenant).not.toBe(byId);
    expect(await readsTenantRange(plainTenant, ["organiser-big", `{${big!.id}}`])).toBe(true);
  });
});
