import { and, asc, eq, gt, inArray, isNull, lt, ne } from "drizzle-orm";
import type { RenderResult } from "@ticketgen/shared";
import type { Db } from "../db/database.ts";
import { tickets, type NewTicketRow, type TicketRow } from "../db/schema.ts";

/** Every ticket query of the API; each one is scoped by tenant. */
export class TicketRepository {
  constructor(private readonly db: Db) {}

  /** Inserts unless the tenant already used the idempotency key (or, rarely, the code exists). */
  async insert(row: NewTicketRow): Promise<TicketRow | undefined> {
    const [inserted] = await this.db.insert(tickets).values(row).onConflictDoNothing().returning();
    return inserted;
  }

  async findById(tenantId: string, id: string): Promise<TicketRow | undefined> {
    const [row] = await this.db.select().from(tickets).where(and(eq(tickets.id, id), eq(tickets.tenantId, tenantId)));
    return row;
  }

  async findByCode(tenantId: string, ticketCode: string): Promise<TicketRow | undefined> {
    const [row] = await this.db
      .select()
      .from(tickets)
      .where(and(eq(tickets.ticketCode, ticketCode), eq(tickets.tenantId, tenantId)));
    return row;
  }

  async findByIdempotencyKey(tenantId: string, key: string): Promise<TicketRow | undefined> {
    const [row] = await this.db
      .select()
      .from(tickets)
      .where(and(eq(tickets.tenantId, tenantId), eq(tickets.idempotencyKey, key)));
    return row;
  }

  /** One page in id (= creation) order after `afterId`; fetches one extra row to detect more. */
  listByEvent(tenantId: string, eventId: string, afterId: string | undefined, limit: number): Promise<TicketRow[]> {
    const conditions = [eq(tickets.tenantId, tenantId), eq(tickets.eventId, eventId)];
    if (afterId) conditions.push(gt(tickets.id, afterId));
    return this.db
      .select()
      .from(tickets)
      .where(and(...conditions))
      .orderBy(asc(tickets.id))
      .limit(limit);
  }

  /** Revoking twice keeps the first time and reason. */
  async revoke(tenantId: string, id: string, reason: string, now: Date): Promise<TicketRow | undefined> {
    const [row] = await this.db
      .update(tickets)
      .set({ status: "REVOKED", revokedAt: now, revocationReason: reason })
      .where(and(eq(tickets.id, id), eq(tickets.tenantId, tenantId), ne(tickets.status, "REVOKED")))
      .returning();
    return row ?? this.findById(tenantId, id);
  }

  /** Atomic: of any number of concurrent redeems of one ticket, exactly one gets the row. */
  async redeem(tenantId: string, id: string, now: Date): Promise<TicketRow | undefined> {
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
      .returning();
    return row;
  }

  /**
   * Applies a worker's outcome; the first success wins and is never overwritten, a failure only
   * lands on a PENDING ticket, and a revoked ticket stays revoked (it keeps its PDF details).
   * Returns the ticket when this call changed it, so side effects happen once.
   */
  async applyResult(result: RenderResult): Promise<TicketRow | undefined> {
    const ticket = and(eq(tickets.id, result.ticketId), eq(tickets.tenantId, result.tenantId));
    if (result.outcome === "failed") {
      const [row] = await this.db
        .update(tickets)
        .set({ status: "FAILED", failureReason: result.reason })
        .where(and(ticket, eq(tickets.status, "PENDING")))
        .returning();
      return row;
    }
    const pdf = {
      pdfKey: result.pdfKey,
      pdfSize: result.pdfSize,
      pdfSha256: result.pdfSha256,
      generatedAt: new Date(result.generatedAt),
    };
    const [generated] = await this.db
      .update(tickets)
      .set({ ...pdf, status: "GENERATED", failureReason: null })
      .where(and(ticket, inArray(tickets.status, ["PENDING", "FAILED"])))
      .returning();
    if (generated) return generated;
    await this.db.update(tickets).set(pdf).where(and(ticket, eq(tickets.status, "REVOKED"), isNull(tickets.pdfKey)));
    return undefined;
  }

  /** PENDING tickets of every tenant created before `olderThan`, oldest first. */
  findPending(olderThan: Date, limit: number): Promise<TicketRow[]> {
    return this.db
      .select()
      .from(tickets)
      .where(and(eq(tickets.status, "PENDING"), lt(tickets.createdAt, olderThan)))
      .orderBy(asc(tickets.createdAt))
      .limit(limit);
  }
}
