import { inject } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../../../scripts/scratch-database.ts";

export type { ScratchDatabase };

/**
 * An empty database of the test's own on the run's server. For tests whose sweeps or listings
 * take every row of a database: other files' tickets (on other queues) must not be found there.
 */
export function scratchDatabase(label: string): Promise<ScratchDatabase> {
  return createScratchDatabase(inject("adminDatabaseUrl"), `tgtest_${label}`);
}
