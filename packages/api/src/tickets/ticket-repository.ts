import { and, asc, eq, getTableColumns, gt, inArray, isNotNull, isNull, lt, ne, sql, type SQL } from "drizzle-orm";
import { UUID_PATTERN, type RenderResult } from "@ticketgen/shared";
import type { Db } from "../db/database.ts";
import { tickets, type NewTicketRow, type TicketRow } from "../db/schema.ts";
import { tenantFilter } from "../db/tenant-filter.ts";
import { lookupsPerTurn, TurnBatch } from "../turn-batch.ts";

/** The columns issuing sets (the issuer's row); every other is null until rendering, redemption or revocation. */
const ISSUED_COLUMNS = [
  "id",
  "tenantId",
  "ticketCode",
  "eventId",
  "guestId",
  "ticketTypeId",
  "status",
  "qrPayload",
  "templateId",
  "templateVersion",
  "locale",
  "event",
  "guest",
  "ticketType",
  "idempotencyKey",
  "requestHash",
  "batchId",
  "batchPosition",
  "createdAt",
  "validUntil",
] as const satisfies ReadonlyArray<keyof NewTicketRow>;

/**
 * A ticket as issued, every column: what the issuer builds, what the INSERT stores and, once
 * stored, the row itself. The columns issuing leaves to later are null by type, so the row
 * answered is the row stored without a copy.
 */
export type IssuedTicketRow = Required<Pick<NewTicketRow, (typeof ISSUED_COLUMNS)[number]>> & {
  [Column in Exclude<keyof TicketRow, (typeof ISSUED_COLUMNS)[number]>]: null;
};

// A turn's inserts go out in INSERTs of at most this many rows (about 1 KB of JSON each).
export const INSERT_BATCH_ROWS = 1_000;

/**
 * The prepared INSERT of issued rows, any number of them: the rows as one JSON array, turned
 * into records by PostgreSQL (jsonb_to_recordset, each issued column at its type); the columns an
 * issue leaves out are null. A multi-row VALUES list would be a new statement for every row
 * count (built by drizzle and parsed by PostgreSQL each time: an eighth of CreateTicket's API
 * CPU under load), and per-column arrays cost their escaping. The parameter is text, so that
 * both drivers (postgres.js, PGlite) send the JSON as it is.
 */
function issuedInsert(db: Db) {
  const columns = getTableColumns(tickets);
  const issued = new Set<string>(ISSUED_COLUMNS);
  const record = sql.join(
    ISSUED_COLUMNS.map((key) => sql`${sql.identifier(key)} ${sql.raw(columns[key].getSQLType())}`),
    sql`, `,
  );
  // drizzle's INSERT … SELECT lists every column of the table, in order.
  const selected = sql.join(
    Object.entries(columns).map(([key, column]) => {
      if (issued.has(key)) return sql.identifier(key);
      if (column.hasDefault) throw new Error(`tickets.${key} has a default: add it to ISSUED_COLUMNS`);
      return sql`null`;
    }),
    sql`, `,
  );
  return db
    .insert(tickets)
    .select(sql`select ${selected} from jsonb_to_recordset(${sql.placeholder("rows")}::text::jsonb) as issued(${record})`)
    .onConflictDoNothing()
    .returning({ id: tickets.id })
    .prepare("tickets_insert_issued");
}

/** A ticket whose PDF was deleted after retention keeps its generated_at and loses its pdf_key. */
export const pdfDeleted = and(isNotNull(tickets.generatedAt), isNull(tickets.pdfKey));

/**
 * A ticket without the event, guest and ticket-type snapshots it was issued with: what a Ticket
 * message shows and the door checks. The snapshots are most of a row's bytes and JSON to parse;
 * only rendering and printing read them.
 */
export type TicketFacts = Omit<TicketRow, "event" | "guest" | "ticketType">;

const { event: _event, guest: _guest, ticketType: _ticketType, ...FACT_COLUMNS } = getTableColumns(tickets);

const byKey = <Row>(rows: Row[], key: (row: Row) => string) => new Map(rows.map((row) => [key(row), row]));

/** Every ticket query of the API; each one is scoped by tenant. */
export class TicketRepository {
  // The statements on every hot path (issue, validation, reads) are built once and prepared.
  private readonly insertIssued;
  private readonly byIds;
  private readonly byCodes;
  private readonly byIdempotencyKeys;
  // Lookups and single inserts made in the same event-loop turn share one statement.
  // A malformed id would fail the shared ::uuid[] cast for every lookup of its turn; it
  // cannot name a ticket, so it is left out and found missing.
  private readonly lookUpId = lookupsPerTurn<TicketFacts>(async (tenantId, ids) => {
    const valid = ids.filter((id) => UUID_PATTERN.test(id));
    return byKey(valid.length === 0 ? [] : await this.byIds.execute({ tenantId, ids: valid }), (row) => row.id);
  });
  private readonly lookUpCode = lookupsPerTurn<TicketFacts>(async (tenantId, codes) =>
    byKey(await this.byCodes.execute({ tenantId, codes }), (row) => row.ticketCode),
  );
  private readonly lookUpIdempotencyKey = lookupsPerTurn<TicketRow>(async (tenantId, keys) =>
    byKey(await this.byIdempotencyKeys.execute({ tenantId, keys }), (row) => row.idempotencyKey!),
  );
  private readonly inserts = new TurnBatch<IssuedTicketRow, TicketRow | undefined>((rows) => this.insertTogether(rows), {
    maxBatchSize: INSERT_BATCH_ROWS,
  });

  constructor(private readonly db: Db) {
    this.insertIssued = issuedInsert(db);
    this.byIds = db
      .select(FACT_COLUMNS)
      .from(tickets)
      .where(and(tenantFilter(tickets.tenantId, sql.placeholder("tenantId")), sql`${tickets.id} = any(${sql.placeholder("ids")}::uuid[])`))
      .prepare("tickets_by_ids");
    this.byCodes = db
      .select(FACT_COLUMNS)
      .from(tickets)
      .where(
        and(
          tenantFilter(tickets.tenantId, sql.placeholder("tenantId")),
          sql`${tickets.ticketCode} = any(${sql.placeholder("codes")}::text[])`,
        ),
      )
      .prepare("tickets_by_codes");
    this.byIdempotencyKeys = db
      .select()
      .from(tickets)
      .where(
        and(eq(tickets.tenantId, sql.placeholder("tenantId")), sql`${tickets.idempotencyKey} = any(${sql.placeholder("keys")}::text[])`),
      )
      .prepare("tickets_by_idempotency_keys");
  }

  /** Inserts unless the tenant already used the idempotency key (or, rarely, the code exists). */
  insert(row: IssuedTicketRow): Promise<TicketRow | undefined> {
    return this.inserts.add(row);
  }

  /** The rows stored; a row left out conflicted (its code, or its idempotency key). */
  private async insertMany(rows: readonly IssuedTicketRow[]): Promise<Map<string, TicketRow>> {
    // Dates go as ISO 8601 (toJSON), snapshots as JSON objects; the null columns are ignored.
    const stored = await this.insertIssued.execute({ rows: JSON.stringify(rows) });
    const ids = new Set(stored.map(({ id }) => id));
    return new Map(rows.filter((row) => ids.has(row.id)).map((row) => [row.id, row]));
  }

  /**
   * One INSERT for the rows of a turn. Should the shared statement fail (a bad row, a deadlock
   * with another replica's batch), every row is tried alone, so that only a bad row fails.
   */
  private async insertTogether(rows: IssuedTicketRow[]): Promise<Array<PromiseSettledResult<TicketRow | undefined>>> {
    if (rows.length > 1) {
      try {
        const inserted = await this.insertMany(rows);
        return rows.map((row) => ({ status: "fulfilled", value: inserted.get(row.id) }));
      } catch {
        // Tried one by one below.
      }
    }
    return Promise.allSettled(rows.map(async (row) => (await this.insertMany([row])).get(row.id)));
  }

  findById(tenantId: string, id: string): Promise<TicketFacts | undefined> {
    return this.lookUpId(tenantId, id);
  }

  /** The whole row, snapshots included, for printing. */
  async findWithSnapshots(tenantId: string, id: string): Promise<TicketRow | undefined> {
    if (!UUID_PATTERN.test(id)) return undefined;
    const [row] = await this.db
      .select()
      .from(tickets)
      .where(and(eq(tickets.id, id), tenantFilter(tickets.tenantId, tenantId)));
    return row;
  }

  findByCode(tenantId: string, ticketCode: string): Promise<TicketFacts | undefined> {
    return this.lookUpCode(tenantId, ticketCode);
  }

  findByIdempotencyKey(tenantId: string, key: string): Promise<TicketRow | undefined> {
    return this.lookUpIdempotencyKey(tenantId, key);
  }

  /** One page in id (= creation) order after `afterId`; fetches one extra row to detect more. */
  listByEvent(tenantId: string, eventId: string, afterId: string | undefined, limit: number): Promise<TicketFacts[]> {
    const conditions = [eq(tickets.tenantId, tenantId), eq(tickets.eventId, eventId)];
    if (afterId) conditions.push(gt(tickets.id, afterId));
    return this.db
      .select(FACT_COLUMNS)
      .from(tickets)
      .where(and(...conditions))
      .orderBy(asc(tickets.id))
      .limit(limit);
  }

  /** Revoking twice keeps the first time and reason. */
  async revoke(tenantId: string, id: string, reason: string, now: Date): Promise<TicketFacts | undefined> {
    const [row] = await this.db
      .update(tickets)
      .set({ status: "REVOKED", revokedAt: now, revocationReason: reason })
      .where(and(eq(tickets.id, id), eq(tickets.tenantId, tenantId), ne(tickets.status, "REVOKED")))
      .returning(FACT_COLUMNS);
    return row ?? this.findById(tenantId, id);
  }

  /** Atomic: of any number of concurrent redeems of one ticket, exactly one gets the row. */
  async redeem(tenantId: string, id: string, now: Date): Promise<TicketFacts | undefined> {
    const [row] = await this.db
      .update(tickets)
      .set({ redeemedAt: now })
      .where(
        and(
          eq(tickets.id, id),
          eq(tickets.tenantId, tenantId),
          isNull(tickets.redeemedAt),
          ne(tickets.status, "REVOKED"),
          gt(tickets.validUntil, now),
        ),
      )
      .returning(FACT_COLUMNS);
    return row;
  }

  /**
   * Applies workers' outcomes (one ticket, or a whole chunk, of one tenant) in two statements.
   * The first success wins and is never overwritten, a failure only lands on a PENDING ticket,
   * and a revoked ticket stays revoked (it keeps its PDF details). A PDF deleted after retention
   * (generated_at kept, pdf_key cleared) is never brought back by a late duplicate. Returns the
   * tickets this call changed, so that side effects (counts, webhooks) happen once.
   */
  async applyResults(tenantId: string, results: readonly RenderResult[]): Promise<TicketRow[]> {
    const generated = results.filter((r) => r.outcome === "generated");
    const failed = results.filter((r) => r.outcome === "failed");
    const changed: TicketRow[] = [];
    // One statement for many tickets: each column takes its value per ticket id.
    const perTicket = <T extends { ticketId: string }>(items: T[], value: (item: T) => SQL) =>
      sql`case ${tickets.id} ${sql.join(
        items.map((item) => sql`when ${item.ticketId}::uuid then ${value(item)}`),
        sql` `,
      )} end`;
    if (generated.length > 0) {
      const ids = generated.map((r) => r.ticketId);
      const pdf = {
        pdfKey: perTicket(generated, (r) => sql`${r.pdfKey}`),
        pdfSize: perTicket(generated, (r) => sql`${r.pdfSize}::bigint`),
        pdfSha256: perTicket(generated, (r) => sql`${r.pdfSha256}`),
        generatedAt: perTicket(generated, (r) => sql`${r.generatedAt}::timestamptz`),
      };
      const scope = and(tenantFilter(tickets.tenantId, tenantId), inArray(tickets.id, ids));
      changed.push(
        ...(await this.db
          .update(tickets)
          .set({ ...pdf, status: "GENERATED", failureReason: null })
          .where(and(scope, inArray(tickets.status, ["PENDING", "FAILED"])))
          .returning()),
      );
      await this.db
        .update(tickets)
        .set(pdf)
        .where(and(scope, eq(tickets.status, "REVOKED"), isNull(tickets.generatedAt)));
    }
    if (failed.length > 0) {
      changed.push(
        ...(await this.db
          .update(tickets)
          .set({
            status: "FAILED",
            failureReason: perTicket(failed, (r) => sql`${r.reason}`),
          })
          .where(
            and(
              tenantFilter(tickets.tenantId, tenantId),
              inArray(
                tickets.id,
                failed.map((r) => r.ticketId),
              ),
              eq(tickets.status, "PENDING"),
            ),
          )
          .returning()),
      );
    }
    return changed;
  }

  /**
   * applyResults and what its changes cause (`effects`: their webhook events written to the
   * outbox) in one transaction, so that neither is stored without the other. Returns, once
   * committed, the changed tickets and what `effects` returned.
   */
  applyResultsWith<T>(
    tenantId: string,
    results: readonly RenderResult[],
    effects: (tx: Db, changed: TicketRow[]) => Promise<T>,
  ): Promise<{ changed: TicketRow[]; effects: T }> {
    return this.db.transaction(async (tx) => {
      const changed = await new TicketRepository(tx).applyResults(tenantId, results);
      return { changed, effects: await effects(tx, changed) };
    });
  }

  /** Single (non-batch) PENDING tickets of every tenant created before `olderThan`, oldest first. */
  findPending(olderThan: Date, limit: number): Promise<TicketRow[]> {
    return this.db
      .select()
      .from(tickets)
      .where(and(eq(tickets.status, "PENDING"), isNull(tickets.batchId), lt(tickets.createdAt, olderThan)))
      .orderBy(asc(tickets.createdAt))
      .limit(limit);
  }
}
