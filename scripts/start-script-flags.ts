import { readFileSync } from "node:fs";

/**
 * The Node flags (`--max-…`) of `pnpm start:<service>` in package.json, the one place they are
 * written outside the images: the benchmarks and fault runs start the services with them too.
 */
export function startScriptNodeFlags(service: "api" | "worker"): string[] {
  const { scripts } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
  return scripts[`start:${service}`]!.split(" ").filter((word) => word.startsWith("--max-"));
}
