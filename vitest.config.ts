import { defineConfig } from "vitest/config";
import SlowestFirst from "./packages/api/test/support/slowest-first.ts";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["packages/api/test/support/global-setup.ts"],
    // A bound for a stuck test, not a speed check: three files share two cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most tests wait on processes, sockets and Chromium rather than the CPU: three files at once
    // on two cores (vitest's default there is one) halves the wall time.
    maxWorkers: 3,
    sequence: { sequencer: SlowestFirst },
  },
});
