import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

/**
 * The tenant condition of a ticket query that a narrower key selects (ids, codes, a batch), as
 * a filter on the rows that key finds. With `tenant_id = $1`, a prepared statement's generic
 * plan estimates a tenant at the average tenant's share of the table and ANDs the bitmap of the
 * tenant's whole range of `tickets_tenant_event_id` into the lookup: 18 ms a lookup by id, 25 ms
 * a page of a batch, for a tenant of 200,000 tickets, against 0.15 ms by the key alone. No index
 * serves IS NOT DISTINCT FROM, so the planner cannot take that path; for a NOT NULL column it
 * means `=`. Queries whose index leads with the tenant (by event, by idempotency key) keep `=`.
 */
export function tenantFilter(column: SQLWrapper, tenantId: string | SQLWrapper): SQL {
  return sql`${column} is not distinct from ${tenantId}`;
}
