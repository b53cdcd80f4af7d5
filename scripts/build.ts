/**
 * `pnpm build [api|render-worker|cli]…`: bundles each program (or the ones named) into one ES
 * module, packages/<program>/dist/main.mjs (the worker's template thread beside it, as
 * template-thread.mjs), which production (Docker, Kubernetes), the
 * benchmarks and the tests that start programs as processes run with plain `node` (they call
 * `buildServices`). Running TypeScript through tsx costs a service ~60 MB (the loader's thread,
 * esbuild's helper process, untrimmed sources) and the CLI ~2 s of start-up per command, against
 * 0.3 s bundled; `pnpm start:*` and `pnpm ticketgen` keep running the sources.
 *
 * Each bundle sits at the same depth as its package's src/, so paths a module takes relative to
 * its package (packages/<service>/src/paths.ts) hold in both. Bundled: our code and every
 * dependency that is plain JavaScript. External, loaded from node_modules: packages that read
 * their own files at run time.
 */
import { build, type BuildOptions } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** `entries`: more bundles beside main.mjs, e.g. a worker thread's module (name → source under src/). */
const SERVICES: Array<{ name: string; external: string[]; entries?: Record<string, string> }> = [
  // sharp loads its native libvips build; jsdom resolves files of its own at run time.
  { name: "api", external: ["@electric-sql/pglite", "@grpc/grpc-js", "@grpc/reflection", "grpc-health-check", "sharp", "jsdom"] },
  {
    name: "render-worker",
    external: ["playwright-core", "piscina"],
    entries: { "template-thread": "templates/sandbox/template-thread.ts" },
  },
  { name: "cli", external: [] },
];

const common: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // The bundle's source stays in V8's heap for the life of the process. Whitespace and syntax
  // are minified; identifiers are not, so stack traces, logs and CPU profiles keep their names
  // (minifying them too saved nothing measurable in the worker's memory).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  // Bundled CommonJS dependencies call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);' },
};

/** Bundles the named services, or all of them. */
export async function buildServices(named: string[] = []): Promise<void> {
  const unknown = named.filter((name) => !SERVICES.some((service) => service.name === name));
  if (unknown.length > 0) throw new Error(`unknown service ${unknown.join(", ")}: one of ${SERVICES.map((s) => s.name).join(", ")}`);
  await Promise.all(
    SERVICES.filter(({ name }) => named.length === 0 || named.includes(name)).map(({ name, external, entries = {} }) => {
      const entryPoints: Record<string, string> = { main: `packages/${name}/src/main.ts` };
      for (const [out, source] of Object.entries(entries)) entryPoints[out] = `packages/${name}/src/${source}`;
      return build({ ...common, entryPoints, outdir: `packages/${name}/dist`, outExtension: { ".js": ".mjs" }, external });
    }),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await buildServices(process.argv.slice(2));
