import { configOrExit, createLogger, loadDatabaseConfig, startOrExit } from "@ticketgen/shared";
import { openDatabase } from "./database.ts";

const logger = createLogger("migrate");
const config = configOrExit("migrate", () => loadDatabaseConfig());
await startOrExit("migrate", async () => {
  const database = await openDatabase(config);
  await database.migrate();
  await database.close();
  logger.info({ action: "migrated", kind: database.kind }, "database schema is up to date");
});
