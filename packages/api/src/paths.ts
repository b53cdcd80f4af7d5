import { fileURLToPath } from "node:url";

// Resolved from the package's top level, which src/ and the bundle in dist/ share (scripts/build.ts).

/** drizzle-kit's SQL migrations. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle/", import.meta.url));
