import type { Figure } from "./report.ts";

/** The targets, each read from the figures of the same run. */
interface Goal {
  figure: string;
  old: string;
  goal: string;
  /** The measured number for the goal, or undefined when this run did not measure it. */
  measure(figures: Figure[]): { value: number; text: string } | undefined;
  met(value: number): boolean;
  /** What limits the figure, printed when the goal is missed (from profiles and the tables). */
  limit?: string;
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
    limit:
      "The API is one Node thread and it is the bottleneck: at 2,000 calls/s it is ~0.9 of a core busy (API CPU per call in section 6) while PostgreSQL uses ~0.1 and Redis nothing, so calls queue behind each other and p99 is queueing delay, not work. A profile splits the ~0.4 ms of CPU per call between connect/HTTP/2 framing (~35%), drizzle (~15%), validation and logging. The machine has 2 cores shared by the API, PostgreSQL, Redis and the load client, so a second API process (the API is stateless) cannot be shown here; per-call CPU (raw SQL on the hot lookup, fewer allocations per call) is the next lever.",
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
    limit:
      "Same limit as ValidateTicket, with ~1 ms of API CPU per call (zod validation of the whole request, drizzle building the INSERT, BullMQ's Lua script round trip, signing): one thread saturates near 1,000 calls/s, and at 32 in flight the queue behind it sets p99. Scaling out API replicas is the production answer; on this 2-core machine PostgreSQL, Redis and the load client already take the other core.",
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
    limit:
      "The breakdown printed under section 5 shows where it goes: the Chromium renderer printing two 100-page chunk documents (~450–600 MB, growing until the browser is recycled), the Chromium browser process (~150 MB), the worker's Node process (~240 MB with its 256 MB heap) and Chromium's utility and zygote processes (~100 MB). Already done: recycling by tickets printed and the heap cap (bench/optimisations.md). Measured and not adopted: --no-zygote saves ~40 MB but doubles print time; BROWSER_MAX_RENDERS=500 halves the renderer's peak but costs a third of the throughput; smaller chunks (BATCH_SIZE=50) did not lower the renderer's peak in a probe.",
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

/** For every missed goal: by how much, and what limits it. */
export function missedGoals(figures: Figure[]): string[] {
  return GOALS.flatMap((goal) => {
    const measured = goal.measure(figures);
    if (measured === undefined || goal.met(measured.value)) return [];
    return [`- **${goal.figure}** (goal ${goal.goal}): measured ${measured.text}. ${goal.limit ?? ""}`];
  });
}

export function goalRows(figures: Figure[]): string[] {
  return GOALS.map((goal) => {
    const measured = goal.measure(figures);
    const verdict = measured === undefined ? "not measured" : goal.met(measured.value) ? "yes" : "**no**";
    return `| ${goal.figure} | ${goal.old} | ${goal.goal} | ${measured?.text ?? "—"} | ${verdict} |`;
  });
}
