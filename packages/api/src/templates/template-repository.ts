import { and, asc, desc, eq, gt, max } from "drizzle-orm";
import type { Db } from "../db/database.ts";
import { templates, type TemplateRow } from "../db/schema.ts";
import { isUniqueViolation } from "../db/pg-errors.ts";

/** Tenant templates: every PutTemplate adds an immutable version. */
export class TemplateRepository {
  constructor(private readonly db: Db) {}

  async addVersion(tenantId: string, id: string, name: string, content: string): Promise<TemplateRow> {
    for (;;) {
      const [latest] = await this.db
        .select({ version: max(templates.version) })
        .from(templates)
        .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id)));
      try {
        const [row] = await this.db
          .insert(templates)
          .values({ tenantId, id, name, content, version: (latest?.version ?? 0) + 1 })
          .returning();
        return row!;
      } catch (error) {
        // Two concurrent puts picked the same number: the loser takes the next one.
        if (!isUniqueViolation(error)) throw error;
      }
    }
  }

  /** The given version, or the latest when version is 0. */
  async find(tenantId: string, id: string, version = 0): Promise<TemplateRow | undefined> {
    const scope = and(eq(templates.tenantId, tenantId), eq(templates.id, id));
    const [row] = await this.db
      .select()
      .from(templates)
      .where(version > 0 ? and(scope, eq(templates.version, version)) : scope)
      .orderBy(desc(templates.version))
      .limit(1);
    return row;
  }

  /** The latest version of each template, by id, after `afterId`. */
  listLatest(tenantId: string, afterId: string | undefined, limit: number): Promise<TemplateRow[]> {
    const conditions = [eq(templates.tenantId, tenantId)];
    if (afterId !== undefined) conditions.push(gt(templates.id, afterId));
    return this.db
      .selectDistinctOn([templates.id])
      .from(templates)
      .where(and(...conditions))
      .orderBy(asc(templates.id), desc(templates.version))
      .limit(limit);
  }
}
