import { describe, expect, it } from "vitest";
import { faultNamed, QUICK_DURATIONS } from "../../../faults/catalog.ts";
import { runFault, type RunOptions } from "../../../faults/run-fault.ts";

/**
 * The quick part of `pnpm faults` (faults/): real API and worker processes on loopback, each
 * fault on a stack of its own during a three-chunk batch and a stream of single tickets.
 */
const QUICK: RunOptions = {
  durations: { ...QUICK_DURATIONS, postgresDown: 15_000 },
  batchGuests: 120,
  batchSize: 40,
  singleIntervalMs: 300,
  settleMs: 60_000,
  trafficAfterMs: 1_000,
};

describe("faults, quick", () => {
  it.each(["worker-sigkill", "chromium-sigkill", "postgres-down", "blob-writes-fail", "redis-unreachable"])(
    "%s: every ticket GENERATED once, PDFs intact and none left over, counts and webhooks right, nothing left running",
    async (name) => {
      const result = await runFault(faultNamed(name), QUICK);
      // On its own and first: a crash's own error, rather than the checks it made fail after it.
      expect(result.crashReport, `logs kept in ${result.logDir}`).toEqual([]);
      const { check } = result;
      expect({
        lost: check.lost,
        duplicated: check.duplicated,
        storedDespiteError: check.storedDespiteError,
        pdfMismatches: check.pdfMismatches,
        strayPdfs: check.strayPdfs,
        batchCountMismatches: check.batchCountMismatches,
        webhooksMissing: check.webhooksMissing,
        unstableDeliveryIds: check.unstableDeliveryIds,
        problems: check.problems,
        crashes: result.crashes,
        leftBehind: result.leftBehind,
        settled: result.recoverMs !== undefined,
      }).toEqual({
        lost: 0,
        duplicated: 0,
        storedDespiteError: 0,
        pdfMismatches: 0,
        strayPdfs: 0,
        batchCountMismatches: 0,
        webhooksMissing: 0,
        unstableDeliveryIds: 0,
        problems: [],
        crashes: 0,
        leftBehind: [],
        settled: true,
      });
      expect(check.ticketsChecked).toBeGreaterThan(QUICK.batchGuests);
    },
    // A bound for a stuck run, not a speed check: a fault takes 16–60 s on two cores alone, and
    // more than 240 s on a host whose Chromium is slow while the suite's other Chromium files run.
    600_000,
  );
});
