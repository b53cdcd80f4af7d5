import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Test files that take longest (seconds in a full run on 2 cores), slowest first. Without
 * vitest's cache of durations (a fresh clone, as in CI) its default order is by file size, and
 * a long file that starts last keeps the run going alone; starting these first lets the three
 * workers finish together. Files not listed follow in vitest's own order.
 */
const SLOWEST = [
  "packages/api/test/faults.test.ts",
  "packages/api/test/readme-commands.test.ts",
  "packages/api/test/batches.test.ts",
  "packages/api/test/asset-rendering.test.ts",
  "packages/render-worker/test/browser-pool.test.ts",
  "packages/api/test/startup-failures.test.ts",
  "packages/api/test/worker-failures.test.ts",
  "packages/cli/test/cli.test.ts",
  "packages/api/test/superseded-pdfs.test.ts",
  "packages/api/test/shutdown-deadline.test.ts",
  "packages/api/test/rpc-fuzz.test.ts",
  "packages/api/test/print-layouts.test.ts",
  "packages/api/test/transport-matrix.test.ts",
  "packages/api/test/batch-fairness.test.ts",
];

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = SLOWEST.indexOf(relative(file.project.config.root, file.moduleId));
      return index < 0 ? SLOWEST.length : index;
    };
    const rest = await super.sort(files.filter((file) => rank(file) === SLOWEST.length));
    return [...files.filter((file) => rank(file) < SLOWEST.length).sort((a, b) => rank(a) - rank(b)), ...rest];
  }
}
