import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { loadDatabaseConfig } from "@ticketgen/shared";
import { ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { openDatabase } from "../src/db/database.ts";
import { scratchDatabase } from "./support/database.ts";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi } from "./support/stack.ts";

const journal = JSON.parse(readFileSync(new URL("../drizzle/meta/_journal.json", import.meta.url), "utf8")) as { entries: unknown[] };

describe("migrations", () => {
  it("several replicas migrating one empty database at once do not race", async () => {
    const database = await scratchDatabase("migrate");
    try {
      const url = new URL(database.url);
      const replicas = await Promise.all(
        Array.from({ length: 4 }, () => openDatabase(loadDatabaseConfig({ DATABASE_URL: url.toString() }))),
      );
      await Promise.all(replicas.map((replica) => replica.migrate()));
      await Promise.all(replicas.map((replica) => replica.close()));

      const check = postgres(url.toString(), { max: 1 });
      const [row] = await check`select count(*)::int as count from drizzle.__drizzle_migrations`;
      const indexes = await check`select indexname from pg_indexes where tablename = 'tickets' order by indexname`;
      await check.end();
      expect(row?.count).toBe(journal.entries.length);
      expect(indexes.map((i) => i.indexname)).toEqual([
        "tickets_batch_position",
        "tickets_pdf_valid_until",
        "tickets_pending_created_at",
        "tickets_pkey",
        "tickets_tenant_event_id",
        "tickets_tenant_idempotency_key",
        "tickets_ticket_code_key",
      ]);
    } finally {
      await database.drop();
    }
  });
});

describe("embedded PGlite (DATABASE_URL unset)", () => {
  it("issues, lists and redeems tickets with no database server", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ticketgen-pglite-"));
    const api = await startTestApi({ DATABASE_URL: "", PGLITE_DIR: dir });
    try {
      const request = ticketRequest();
      const { ticket } = await api.tickets.createTicket(request);
      const listed = await api.tickets.listTickets({ eventId: request.event!.id });
      expect(listed.tickets.map((t) => t.id)).toEqual([ticket!.id]);
      const verdict = await api.tickets.validateTicket({ credential: { case: "qrPayload", value: ticket!.qrPayload }, redeem: true });
      expect(verdict.result).toBe(ValidationResult.VALID);
    } finally {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
