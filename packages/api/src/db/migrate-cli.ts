import { createLogger, loadDatabaseConfig } from "@ticketgen/shared";
import { openDatabase } from "./database.ts";

const logger = createLogger("migrate");
const config = loadDatabaseConfig();
const database = await openDatabase(config);
await database.migrate();
await database.close();
logger.info({ action: "migrated", kind: database.kind }, "database schema is up to date");
