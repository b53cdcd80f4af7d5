/**
 * Rewrites docs/qr-token-vectors.json from the recipe in ./vectors.ts:
 *
 *   node_modules/.bin/tsx packages/shared/test/support/generate-vectors.ts
 *
 * Signing is deterministic (no randomness, no clock), so running it again gives the same file.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildVectorFile, VECTORS_PATH } from "./vectors.ts";

const file = buildVectorFile();
writeFileSync(VECTORS_PATH, `${JSON.stringify(file, null, 2)}\n`);
console.log(`wrote ${file.vectors.length} vectors to ${fileURLToPath(VECTORS_PATH)}`);
