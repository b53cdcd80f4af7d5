import { Presets, SingleBar } from "cli-progress";
import type { Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { batchStatusName, formatDuration } from "./format.ts";

/** Shows a batch's progress on stderr as WatchBatch reports it. */
export interface BatchProgress {
  update(batch: Batch): void;
  /** Leaves the terminal clean for what follows; safe to call more than once. */
  stop(): void;
}

/**
 * A live bar on a terminal; one plain line per change (at most one a second) when stderr is a
 * file or a pipe, where a redrawn bar would be noise; nothing when `enabled` is false (--json).
 */
export function batchProgress(enabled: boolean): BatchProgress {
  if (!enabled) return { update: () => {}, stop: () => {} };
  return process.stderr.isTTY ? new BarProgress() : new LineProgress();
}

interface Reading {
  done: number;
  total: number;
  failed: number;
  percent: number;
  rate: string;
  eta: string;
}

/**
 * Rate and ETA over what this watch has seen: a watched batch may be half done when the watch
 * starts, and counting that work would overstate the rate.
 */
class Meter {
  private readonly startedAt = Date.now();
  private firstDone: number | undefined;

  read(batch: Batch): Reading {
    const done = batch.completedCount + batch.failedCount;
    this.firstDone ??= done;
    const seconds = (Date.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? (done - this.firstDone) / seconds : 0;
    const remaining = Math.max(0, batch.totalCount - done);
    const eta = remaining === 0 ? "0 s" : rate > 0 ? formatDuration((remaining / rate) * 1000) : "?";
    const percent = batch.totalCount > 0 ? Math.floor((done * 100) / batch.totalCount) : 100;
    return { done, total: batch.totalCount, failed: batch.failedCount, percent, rate: `${rate.toFixed(1)}/s`, eta };
  }
}

class BarProgress implements BatchProgress {
  private readonly meter = new Meter();
  private readonly bar = new SingleBar(
    {
      stream: process.stderr,
      format: "{bar} {percentage}% | {value}/{total} | {failed} failed | {rate} | ETA {etaText}",
      hideCursor: true,
      barsize: 30,
    },
    Presets.shades_classic,
  );

  update(batch: Batch): void {
    const reading = this.meter.read(batch);
    const payload = { failed: reading.failed, rate: reading.rate, etaText: reading.eta };
    if (!this.bar.isActive) this.bar.start(reading.total, reading.done, payload);
    else {
      if (this.bar.getTotal() !== reading.total) this.bar.setTotal(reading.total);
      this.bar.update(reading.done, payload);
    }
  }

  stop(): void {
    if (this.bar.isActive) this.bar.stop();
  }
}

class LineProgress implements BatchProgress {
  private readonly meter = new Meter();
  private lastPrinted = 0;
  private lastCounts = "";
  private lastStatus = "";

  update(batch: Batch): void {
    const status = batchStatusName(batch.status);
    const counts = `${batch.completedCount} ${batch.failedCount} ${batch.totalCount}`;
    const reading = this.meter.read(batch);
    const now = Date.now();
    // A new status always shows (the terminal one above all); new counts at most once a second.
    if (status === this.lastStatus && (counts === this.lastCounts || now - this.lastPrinted < 1000)) return;
    process.stderr.write(
      `batch ${batch.id} ${status}: ${reading.done}/${reading.total} (${reading.percent}%), ${reading.failed} failed, ${reading.rate}, ETA ${reading.eta}\n`,
    );
    [this.lastPrinted, this.lastCounts, this.lastStatus] = [now, counts, status];
  }

  stop(): void {}
}
