import { appendFileSync } from "node:fs";

/** One measured figure, with its baseline from the same run when it has one. */
export interface Figure {
  scenario: string;
  name: string;
  unit: string;
  median?: number;
  p95?: number;
  p99?: number;
  /** For figures that are one number (throughput, a size, a peak). */
  value?: number;
  samples?: number;
  baseline?: { name: string; median?: number; value?: number };
  /** ticketgen ÷ baseline, on the median (or value). */
  ratio?: number;
}

/**
 * Each benchmark prints its Markdown table for people and hands its figures to `pnpm bench`
 * (bench/run.ts) through BENCH_JSON_OUT, one JSON object a line, for bench/results.json.
 */
export function emit(figures: Figure[]): void {
  const out = process.env.BENCH_JSON_OUT;
  if (!out) return;
  appendFileSync(out, figures.map((f) => JSON.stringify(f)).join("\n") + "\n");
}

export function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
