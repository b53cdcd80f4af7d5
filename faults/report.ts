import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { failed, type FaultResult } from "./run-fault.ts";

/** The machine as measured: what /proc/cpuinfo names, how many cores Node sees, which Node. */
export function machine(): string {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  return `${cpus().length} × ${model.trim()}, Node ${process.version}`;
}

const seconds = (ms: number | undefined) => (ms === undefined ? "did not settle" : `${(ms / 1000).toFixed(1)} s`);

/** The Markdown table: fault → tickets checked → lost → duplicated → time to recover, then the other checks. */
export function resultTable(results: readonly FaultResult[]): string {
  const header = [
    "| fault | tickets checked | lost | duplicated | time to recover | caller errors | stored despite error | PDF hash mismatches | stray PDFs | batch count mismatches | webhooks missing | services crashed | processes left | verdict |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const rows = results.map(({ fault, check: c, recoverMs, crashes, leftBehind, ...rest }) =>
    [
      fault,
      c.ticketsChecked,
      c.lost,
      c.duplicated,
      seconds(recoverMs),
      c.callerErrors,
      c.storedDespiteError,
      c.pdfMismatches,
      c.strayPdfs,
      c.batchCountMismatches,
      c.webhooksMissing + c.unstableDeliveryIds,
      crashes,
      leftBehind.length,
      failed({ fault, check: c, recoverMs, crashes, leftBehind, ...rest }) ? "FAIL" : "ok",
    ].join(" | "),
  );
  return [...header, ...rows.map((row) => `| ${row} |`)].join("\n");
}

export function findings(results: readonly FaultResult[]): string {
  return results
    .map((r) => {
      const lines = [
        ...r.crashReport.map((c) => `crash: ${c}`),
        ...r.notes,
        ...r.check.problems.map((p) => `problem: ${p}`),
        ...r.leftBehind.map((p) => `left behind: ${p}`),
      ];
      return `${r.fault}:\n${lines.map((line) => `  - ${line}`).join("\n")}`;
    })
    .join("\n");
}
