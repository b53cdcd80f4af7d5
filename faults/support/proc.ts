import { readFileSync, readdirSync } from "node:fs";

/**
 * What /proc says about processes: the suite's own account of what is running, independent of
 * what the services report about themselves.
 */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks since boot: with the pid, names one process even after the pid is reused. */
  startTime: number;
  command: string;
}

export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces; the fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined;
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), startTime: Number(fields[19]), command };
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcessInfo[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => processInfo(Number(entry)))
    .filter((info): info is ProcessInfo => info !== undefined);
}

/** Every living descendant of `pid`. */
export function descendants(pid: number, processes = allProcesses()): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  const visit = (parent: number) => {
    for (const child of processes.filter((p) => p.ppid === parent)) {
      out.push(child);
      visit(child.pid);
    }
  };
  visit(pid);
  return out;
}

/** Chromium's processes under `pid`: the browser has no --type, its helpers (renderer, gpu, …) do. */
export function chromiumUnder(pid: number): { browsers: ProcessInfo[]; helpers: ProcessInfo[] } {
  const chromium = descendants(pid).filter((p) => /chrom/i.test(p.command.split(" ")[0] ?? ""));
  return {
    browsers: chromium.filter((p) => !p.command.includes("--type=")),
    helpers: chromium.filter((p) => p.command.includes("--type=")),
  };
}

/** Resident memory of one process (MB), or undefined once it has gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

export const isAlive = (p: Pick<ProcessInfo, "pid" | "startTime">) => processInfo(p.pid)?.startTime === p.startTime;

/** Proportional set size (MB): shared pages split among their sharers, so a tree's sum is not inflated. */
export function pssMb(pid: number): number | undefined {
  try {
    const kb = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
