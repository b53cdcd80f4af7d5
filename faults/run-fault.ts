import { setTimeout as sleep } from "node:timers/promises";
import type { Durations, Fault } from "./catalog.ts";
import { checkInvariants, outstanding, unrenderedSingles, type FaultCheck } from "./support/checks.ts";
import { FaultStack } from "./support/stack.ts";
import { Workload } from "./support/workload.ts";

export interface RunOptions {
  durations: Durations;
  batchGuests: number;
  batchSize: number;
  singleIntervalMs: number;
  /** How long the stack may take to settle once the fault is over. */
  settleMs: number;
  /** Single tickets keep coming this long after the fault. */
  trafficAfterMs: number;
}

export interface FaultResult {
  fault: string;
  check: FaultCheck;
  /** From the fault's end until every ticket is final and announced; undefined: not within settleMs. */
  recoverMs: number | undefined;
  /** Exits of a ready service that nobody asked for (each was restarted, with back-off). */
  crashes: number;
  /** What each crash ended on, first first, and the restarts that failed after it: empty without crashes. */
  crashReport: string[];
  /** Processes of the services (Chromium included) still alive after the stack stopped. */
  leftBehind: string[];
  notes: string[];
  /** Where the services' logs were kept (only when something failed). */
  logDir: string | undefined;
}

export const failed = (r: FaultResult) =>
  r.check.lost +
    r.check.duplicated +
    r.check.storedDespiteError +
    r.check.pdfMismatches +
    r.check.batchCountMismatches +
    r.check.webhooksMissing +
    r.check.unstableDeliveryIds +
    r.leftBehind.length +
    r.crashReport.length >
    0 ||
  r.recoverMs === undefined ||
  r.check.problems.length > 0;

/** How long processes that outlived their service get to notice and end (Chromium sees its pipe close). */
const ORPHAN_GRACE_MS = 5_000;

/** One fault on a stack of its own: start, load, inject, let it settle, check, stop. */
export async function runFault(fault: Fault, options: RunOptions, log: (line: string) => void = () => {}): Promise<FaultResult> {
  const stack = await FaultStack.start({ batchSize: options.batchSize });
  const longestOutage = Math.max(...Object.values(options.durations));
  const workload = new Workload(stack.apiUrl, {
    batchGuests: options.batchGuests,
    singleIntervalMs: options.singleIntervalMs,
    giveUpMs: longestOutage + 60_000,
    unrenderedSingles: (eventId) => unrenderedSingles(stack.sql, eventId),
  });
  const notes: string[] = [];
  const problems: string[] = [];
  let recoverMs: number | undefined;
  let check: FaultCheck | undefined;
  try {
    workload.startStream();
    if (!fault.createsBatch) await workload.createBatch();
    log(`${fault.name}: injecting`);
    // A fault that cannot be injected (its trigger never came) is a finding, and the stack still owes its work.
    await fault.inject({ stack, workload, durations: options.durations, notes, problems }).catch((error: unknown) => {
      problems.push(`the fault could not be injected as planned: ${String(error)}`);
    });
    const over = Date.now();
    log(`${fault.name}: fault over, waiting for the stack to settle`);
    await sleep(options.trafficAfterMs);
    await workload.stop();
    const deadline = over + options.settleMs;
    while (Date.now() < deadline) {
      if ((await outstanding(stack, workload)) === 0) {
        recoverMs = Date.now() - over;
        break;
      }
      await sleep(200);
    }
    check = await checkInvariants(stack.sql, stack.blobDir, workload, stack.receiver.deliveries, options.batchGuests);
    check.problems.unshift(...problems);
  } finally {
    await workload.stop();
    const keep =
      check === undefined || recoverMs === undefined || check.problems.length > 0 || stack.api.crashes + stack.worker.crashes > 0;
    const exits = await stack.stop(keep);
    notes.push(`stopped: api exit ${exits.api}, worker exit ${exits.worker}`);
    if (keep) notes.push(`logs kept in ${stack.logDir}`);
  }
  const crashes = stack.api.crashes + stack.worker.crashes;
  const crashReport = [...stack.api.crashReport(), ...stack.worker.crashReport()];
  const leftovers = () => [...stack.api.leftovers(), ...stack.worker.leftovers()];
  const deadline = Date.now() + ORPHAN_GRACE_MS;
  while (leftovers().length > 0 && Date.now() < deadline) await sleep(100);
  const leftBehind = leftovers().map((p) => `${p.pid} ${p.command.slice(0, 80)}`);
  // Reported above; not left to burden the runs that follow.
  for (const p of leftovers()) process.kill(p.pid, "SIGKILL");
  return {
    fault: fault.name,
    check,
    recoverMs,
    crashes,
    crashReport,
    leftBehind,
    notes,
    logDir: check.problems.length > 0 || recoverMs === undefined || crashReport.length > 0 ? stack.logDir : undefined,
  };
}
