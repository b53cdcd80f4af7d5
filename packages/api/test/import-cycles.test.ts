import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import madge from "madge";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SOURCES = readdirSync(join(ROOT, "packages")).map((name) => join(ROOT, "packages", name, "src"));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => relative(ROOT, join(dir, file)));
}

describe("module graph", () => {
  it("has no import cycle in any package's sources", async () => {
    const graph = await madge(SOURCES, { baseDir: ROOT, fileExtensions: ["ts"], tsConfig: join(ROOT, "tsconfig.json") });
    // A file missing from the graph, or a relative import madge cannot follow, would hide its cycles.
    expect(Object.keys(graph.obj()).sort()).toEqual(SOURCES.flatMap(tsFiles).sort());
    expect(graph.warnings().skipped.filter((name) => !name.startsWith("@ticketgen/"))).toEqual([]);
    expect(graph.circular().map((cycle) => cycle.join(" → "))).toEqual([]);
  });
});
