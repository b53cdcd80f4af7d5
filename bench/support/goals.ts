import type { Figure } from "./report.ts";

/** The targets, each read from the figures of the same run. */
interface Goal {
  figure: string;
  old: string;
  goal: string;
  /** The measured number for the goal, or undefined when this run did not measure it. */
  measure(figures: Figure[]): { value: number; text: string } | undefined;
  met(value: number): boolean;
}

const find = (figures: Figure[], scenario: string | RegExp, name: string | RegExp) =>
  figures.filter((f) => (typeof scenario === "string" ? f.scenario === scenario : scenario.test(f.scenario)) && (typeof name === "string" ? f.name === name : name.test(f.name)));

export const GOALS: Goal[] = [
  {
    figure: "create → PDF stored, p95 at light load",
    old: "< 2 s",
    goal: "≤ 300 ms",
    measure: (fs) => {
      const f = find(fs, "latency", "create → PDF stored")[0];
      return f?.p95 === undefined ? undefined : { value: f.p95, text: `${f.p95.toFixed(0)} ms (p50 ${f.median?.toFixed(0)} ms)` };
    },
    met: (v) => v <= 300,
  },
  {
    figure: "end-to-end batch throughput, one worker",
    old: "500 tickets/min",
    goal: "≥ 50 tickets/s",
    measure: (fs) => {
      const all = find(fs, /^batch-/, "end-to-end throughput");
      const largest = all.sort((a, b) => Number(b.scenario.slice(6)) - Number(a.scenario.slice(6)))[0];
      return largest?.value === undefined ? undefined : { value: largest.value, text: `${largest.value.toFixed(0)} tickets/s (${largest.scenario.slice(6)} guests)` };
    },
    met: (v) => v >= 50,
  },
  {
    figure: "QR sign + draw, p95",
    old: "< 100 ms",
    goal: "≤ 2 ms",
    measure: (fs) => {
      const f = find(fs, "qr-token", /^issue: sign \+ draw/)[0];
      return f?.p95 === undefined ? undefined : { value: f.p95 / 1000, text: `${(f.p95 / 1000).toFixed(2)} ms` };
    },
    met: (v) => v <= 2,
  },
  {
    figure: "QR verify, in process",
    old: "< 10 ms",
    goal: "≤ 20 µs",
    measure: (fs) => {
      const f = find(fs, "qr-token", /^verify one scan/)[0];
      return f?.p95 === undefined ? undefined : { value: f.p95, text: `${f.p95.toFixed(1)} µs p95` };
    },
    met: (v) => v <= 20,
  },
  {
    figure: "ValidateTicket p99 at 2,000 calls/s",
    old: "—",
    goal: "≤ 10 ms",
    measure: (fs) => {
      const f = find(fs, "api-load", /^ValidateTicket, open loop 2,?000\/s$/)[0];
      const rate = find(fs, "api-load", /^ValidateTicket, open loop 2,?000\/s throughput$/)[0];
      return f?.p99 === undefined ? undefined : { value: f.p99, text: `p99 ${f.p99.toFixed(1)} ms, ${rate?.value?.toFixed(0) ?? "?"} calls/s reached` };
    },
    met: (v) => v <= 10,
  },
  {
    figure: "CreateTicket sustained",
    old: "—",
    goal: "≥ 1,000 calls/s, p99 ≤ 50 ms",
    measure: (fs) => {
      const f = find(fs, "api-load", /^CreateTicket c=32$/)[0];
      const rate = find(fs, "api-load", /^CreateTicket c=32 throughput$/)[0];
      if (f?.p99 === undefined || rate?.value === undefined) return undefined;
      // Met only when both hold: encode as the worse of the two ratios to their goals.
      return { value: Math.max(1000 / rate.value, f.p99 / 50), text: `${rate.value.toFixed(0)} calls/s, p99 ${f.p99.toFixed(0)} ms (32 in flight)` };
    },
    met: (v) => v <= 1,
  },
  {
    figure: "worker memory with Chromium",
    old: "—",
    goal: "≤ 700 MB PSS",
    measure: (fs) => {
      const values = find(fs, /^batch-/, "worker peak PSS incl. Chromium").map((f) => f.value ?? 0);
      return values.length === 0 ? undefined : { value: Math.max(...values), text: `${Math.max(...values).toFixed(0)} MB peak PSS` };
    },
    met: (v) => v <= 700,
  },
  {
    figure: "single-ticket PDF",
    old: "—",
    goal: "≤ 40 KB",
    measure: (fs) => {
      const f = find(fs, "render-single", /^pooled worker, 1 page.*: PDF size$/)[0];
      return f?.value === undefined ? undefined : { value: f.value, text: `${f.value.toFixed(1)} KB` };
    },
    met: (v) => v <= 40,
  },
];

export function goalRows(figures: Figure[]): string[] {
  return GOALS.map((goal) => {
    const measured = goal.measure(figures);
    const verdict = measured === undefined ? "not measured" : goal.met(measured.value) ? "yes" : "**no**";
    return `| ${goal.figure} | ${goal.old} | ${goal.goal} | ${measured?.text ?? "—"} | ${verdict} |`;
  });
}
