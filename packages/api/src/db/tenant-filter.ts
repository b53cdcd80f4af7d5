import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

/**
 * The tenant condition of a lookup by a unique key list (`id = any(…)`), as a filter on the rows
 * that key finds. With `tenant_id = $1`, a prepared statement's generic plan estimates a tenant
 * at the average tenant's share of the table and ANDs the bitmap of the tenant's whole range of
 * `tickets_tenant_event_id` into every lookup: 18 ms a lookup for a tenant of 200,000 tickets,
 * against 0.15 ms by the key alone. No index serves IS NOT DISTINCT FROM, so the planner cannot
 * take that path; for a NOT NULL column it means `=`.
 */
export function tenantFilter(column: SQLWrapper, tenantId: string | SQLWrapper): SQL {
  return sql`${column} is not distinct from ${tenantId}`;
}
