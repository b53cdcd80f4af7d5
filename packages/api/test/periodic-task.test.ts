import { describe, expect, it, vi } from "vitest";
import { PeriodicTask } from "../src/reconciliation/periodic-task.ts";

describe("PeriodicTask", () => {
  it("never runs twice at once, reports a failed run and tries again, and stop() waits for the run in progress", async () => {
    vi.useFakeTimers();
    try {
      const errors: unknown[] = [];
      const task = new PeriodicTask((error) => errors.push(error));
      let runs = 0;
      let finish!: () => void;
      task.every(1000, async () => {
        runs++;
        if (runs === 1) throw new Error("first run failed");
        await new Promise<void>((resolve) => (finish = resolve));
      });

      await vi.advanceTimersByTimeAsync(1000);
      expect({ runs, errors: errors.map(String) }).toEqual({ runs: 1, errors: ["Error: first run failed"] });
      await vi.advanceTimersByTimeAsync(1000);
      expect(runs).toBe(2);
      // The second run is still going: three more ticks start nothing.
      await vi.advanceTimersByTimeAsync(3000);
      expect(runs).toBe(2);

      let stopped = false;
      const stopping = task.stop().then(() => (stopped = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(stopped).toBe(false);
      finish();
      await stopping;
      await vi.advanceTimersByTimeAsync(5000);
      expect(runs).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
