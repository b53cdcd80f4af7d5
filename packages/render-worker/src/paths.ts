import { fileURLToPath } from "node:url";

// Resolved from the package's top level, which src/ and the bundle in dist/ share (scripts/build.ts).

/** The repository's `templates/` directory (TEMPLATES_PATH overrides it). */
export const DEFAULT_TEMPLATES_PATH = fileURLToPath(new URL("../../../templates/", import.meta.url));
