import { fileURLToPath } from "node:url";

// Resolved from the package's top level, which src/ and the bundle in dist/ share (scripts/build.ts).

/** The repository's `templates/` directory (TEMPLATES_PATH overrides it). */
export const DEFAULT_TEMPLATES_PATH = fileURLToPath(new URL("../../../templates/", import.meta.url));

/**
 * The template thread's module: bundled next to the worker as dist/template-thread.mjs, where
 * every module's import.meta.url is the bundle's; run from its TypeScript source otherwise.
 */
export const TEMPLATE_THREAD = import.meta.url.endsWith(".mjs")
  ? new URL("./template-thread.mjs", import.meta.url)
  : new URL("./templates/sandbox/template-thread.ts", import.meta.url);

/** The script that launches Chromium tied to the worker's life (browser/chromium.ts). */
export const CHROMIUM_LAUNCHER = fileURLToPath(new URL("../bin/chromium-dies-with-worker", import.meta.url));
