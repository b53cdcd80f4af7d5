/**
 * Where a V8 CPU profile (node --cpu-prof, e.g. from `bench/load.ts --profile DIR`) spends its
 * time: self time by package (a node_modules package, Node's internals, or a file of ours) and
 * the hottest functions.
 *
 *   node_modules/.bin/tsx bench/support/profile-summary.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "25" } } });
if (positionals.length !== 1) throw new Error("usage: profile-summary.ts FILE.cpuprofile [--top N]");
const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as Profile;

/** `bullmq`, `@connectrpc/connect-node`, `node:http2`, `packages/api/src/tickets/ticket-issuer.ts`, `(gc)`… */
function owner({ url, functionName }: ProfileNode["callFrame"]): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return url.replace(/^node:internal\/(deps\/)?/, "node:").replace(/\/.*$/, "");
  const ours = /(packages\/.*|bench\/.*)$/.exec(url);
  return ours ? ours[1]! : url;
}

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const idle = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === "(idle)").reduce((sum, [, us]) => sum + us, 0);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const busy = total - idle;

const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
const owners = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { callFrame } = byId.get(id)!;
  if (callFrame.functionName === "(idle)") continue;
  add(owners, owner(callFrame), us);
  add(functions, `${callFrame.functionName || "(anonymous)"} ${owner(callFrame)}:${callFrame.lineNumber + 1}`, us);
}

const top = Number(values.top);
const pct = (us: number) => `${((100 * us) / busy).toFixed(1)} %`;
const table = (title: string, map: Map<string, number>) => {
  console.log(`\n| ${title} | self time | share of busy |\n|---|---:|---:|`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`| ${key} | ${(us / 1000).toFixed(0)} ms | ${pct(us)} |`);
};
console.log(`profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)} %)`);
table("package", owners);
table("function", functions);
