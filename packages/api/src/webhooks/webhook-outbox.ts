import { and, asc, eq, inArray, isNull, lt, or } from "drizzle-orm";
import type { Db } from "../db/database.ts";
import { webhookOutbox, type WebhookOutboxRow } from "../db/schema.ts";
import type { EventType, WebhookEvent } from "./webhook-events.ts";

const unsettled = and(isNull(webhookOutbox.deliveredAt), isNull(webhookOutbox.gaveUpAt));

/**
 * The webhook_outbox table. `add` runs in the transaction that changed the statuses the events
 * announce; the rest is for the webhook worker (delivered, gave up) and the relay. Every call
 * about one event names its tenant.
 */
export class WebhookOutbox {
  constructor(private readonly db: Db) {}

  /** Records events not recorded yet (an event recorded twice stays one row); returns the new ones. */
  async add(events: readonly WebhookEvent[]): Promise<WebhookEvent[]> {
    if (events.length === 0) return [];
    const inserted = await this.db
      .insert(webhookOutbox)
      .values(events.map((event) => ({ ...event, checkedAt: event.occurredAt })))
      .onConflictDoNothing()
      .returning({ id: webhookOutbox.id });
    const ids = new Set(inserted.map((row) => row.id));
    return events.filter((event) => ids.has(event.id));
  }

  /** Events neither delivered nor given up whose job was last seen before `checkedBefore`, longest unchecked first. */
  async due(checkedBefore: Date, limit: number): Promise<WebhookEvent[]> {
    const rows = await this.db
      .select()
      .from(webhookOutbox)
      .where(and(unsettled, lt(webhookOutbox.checkedAt, checkedBefore)))
      .orderBy(asc(webhookOutbox.checkedAt))
      .limit(limit);
    return rows.map(toEvent);
  }

  /** The relay found (or put) these events' jobs on the queue: they are not due again before the sweep age. */
  async markChecked(events: readonly WebhookEvent[], now: Date): Promise<void> {
    for (const tenantId of new Set(events.map((event) => event.tenantId))) {
      const ofTenant = events.filter((event) => event.tenantId === tenantId);
      await this.db
        .update(webhookOutbox)
        .set({ checkedAt: now })
        .where(
          and(
            eq(webhookOutbox.tenantId, tenantId),
            inArray(
              webhookOutbox.id,
              ofTenant.map((event) => event.id),
            ),
            unsettled,
          ),
        );
    }
  }

  async markDelivered(tenantId: string, id: string, at: Date): Promise<void> {
    await this.db
      .update(webhookOutbox)
      .set({ deliveredAt: at })
      .where(and(eq(webhookOutbox.id, id), eq(webhookOutbox.tenantId, tenantId), unsettled));
  }

  async markGaveUp(tenantId: string, id: string, at: Date): Promise<void> {
    await this.db
      .update(webhookOutbox)
      .set({ gaveUpAt: at })
      .where(and(eq(webhookOutbox.id, id), eq(webhookOutbox.tenantId, tenantId), unsettled));
  }

  /** Deletes events delivered or given up before `settledBefore`; returns how many. */
  async prune(settledBefore: Date): Promise<number> {
    const deleted = await this.db
      .delete(webhookOutbox)
      .where(or(lt(webhookOutbox.deliveredAt, settledBefore), lt(webhookOutbox.gaveUpAt, settledBefore)))
      .returning({ id: webhookOutbox.id });
    return deleted.length;
  }
}

function toEvent(row: WebhookOutboxRow): WebhookEvent {
  return { id: row.id, tenantId: row.tenantId, type: row.type as EventType, occurredAt: row.occurredAt, data: row.data };
}
