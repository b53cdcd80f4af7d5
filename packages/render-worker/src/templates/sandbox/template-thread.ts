/**
 * The template thread: compiles and runs ticket templates off the worker's event loop, one
 * task (a ticket, or a chunk's tickets) at a time. The worker bounds its time (it terminates
 * the thread) and its heap (resourceLimits); the thread bounds the output itself. Imports stay
 * few: each thread is a V8 isolate of its own, and everything it loads costs memory.
 */
import Handlebars from "handlebars";
import { compileIn, compileTemplate, isolatedEnvironment } from "@ticketgen/shared/templates";
import { withDoctype } from "../doctype.ts";
import { MARKUP_FIELDS, type RenderOutcome, type RenderTask, type TemplateAssets, type TemplateSource, type TemplateView } from "./protocol.ts";

/** Compiled templates kept, counted in source characters: compiled code is a few times the source. */
const MAX_CACHED_SOURCE = 8 * 1024 * 1024;

class OutputLimitExceeded extends Error {}

/** The output cap of the task being run (one task at a time per thread). */
let outputLimit = Number.POSITIVE_INFINITY;

function checkOutput(result: unknown): void {
  if (typeof result === "string" && result.length > outputLimit) throw new OutputLimitExceeded();
}

/** The assets of the task being run: compiled templates are shared by tenants, so helpers read them from here. */
let assets: TemplateAssets = { names: [], urls: {} };
let assetNames = new Set<string>();

/**
 * `{{asset "logo"}}`: the asset's data: URL, inserted unescaped (HTML escaping would turn its
 * `=` padding into an entity that CSS, in a `<style>` @font-face, does not decode). Safe: the
 * worker builds it from a checked type and base64 only (AssetStore). A missing asset fails the
 * ticket, naming it.
 */
function assetHelper(name: unknown): Handlebars.SafeString {
  if (typeof name !== "string") throw new Error('asset: name the asset in quotes, as in {{asset "logo"}}');
  const url = Object.hasOwn(assets.urls, name) ? assets.urls[name] : undefined;
  if (url !== undefined) return new Handlebars.SafeString(url);
  if (assetNames.has(name)) throw new Error(`asset "${name}": write its name in quotes in the template ({{asset "${name}"}}), not through a variable`);
  throw new Error(`asset "${name}" not found: this tenant has no asset of that name (upload it with PutAsset)`);
}

/** `{{#if (hasAsset "logo")}}`: whether the tenant has the asset, so a template can do without it. */
function hasAssetHelper(name: unknown): boolean {
  return typeof name === "string" && assetNames.has(name);
}

type Env = typeof Handlebars & { VM: { invokePartial: (...args: unknown[]) => unknown } };

/**
 * Partials and `#each` are what multiply output; checking what each returns stops a bomb as
 * soon as one piece is over the cap (a string of N characters is at least N bytes), long
 * before its time limit. `env.VM` is Handlebars' documented hook for overriding the runtime.
 */
function limitOutput(env: typeof Handlebars): typeof Handlebars {
  const vm = (env as Env).VM;
  (env as Env).VM = {
    ...vm,
    invokePartial(this: unknown, ...args: unknown[]) {
      const result = vm.invokePartial.apply(this, args);
      checkOutput(result);
      return result;
    },
  };
  const each = env.helpers.each as (...args: unknown[]) => unknown;
  env.registerHelper("each", function (this: unknown, ...args: unknown[]) {
    const result = each.apply(this, args);
    checkOutput(result);
    return result;
  });
  return env;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function compile(template: TemplateSource): HandlebarsTemplateDelegate {
  const env = limitOutput(isolatedEnvironment());
  env.registerHelper("asset", assetHelper);
  env.registerHelper("hasAsset", hasAssetHelper);
  if (!template.trusted) return compileTemplate(template.source, env);
  for (const [name, source] of Object.entries(template.partials ?? {})) {
    try {
      env.registerPartial(name, compileIn(env, source));
    } catch (error) {
      throw new Error(`partials/${name}.hbs: ${messageOf(error)}`, { cause: error });
    }
  }
  try {
    return compileIn(env, template.source);
  } catch (error) {
    throw new Error(template.label ? `${template.label}: ${messageOf(error)}` : messageOf(error), { cause: error });
  }
}

/** Least recently used first (a Map keeps insertion order; a hit moves to the end). */
const compiled = new Map<string, { template: HandlebarsTemplateDelegate; size: number }>();
let cachedSource = 0;

function compiledTemplate(source: TemplateSource): HandlebarsTemplateDelegate {
  const hit = compiled.get(source.key);
  if (hit) {
    compiled.delete(source.key);
    compiled.set(source.key, hit);
    return hit.template;
  }
  const entry = { template: compile(source), size: source.source.length };
  compiled.set(source.key, entry);
  cachedSource += entry.size;
  for (const [key, old] of compiled) {
    if (cachedSource <= MAX_CACHED_SOURCE || compiled.size === 1) break;
    compiled.delete(key);
    cachedSource -= old.size;
  }
  return entry.template;
}

function exceeds(html: string, maxBytes: number): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long string needs counting.
  return html.length > maxBytes || (html.length * 3 > maxBytes && Buffer.byteLength(html, "utf8") > maxBytes);
}

function withMarkup(view: TemplateView): Record<string, unknown> {
  const context: Record<string, unknown> = { ...view };
  for (const field of MARKUP_FIELDS) {
    const markup = view[field];
    if (typeof markup === "string") context[field] = new Handlebars.SafeString(markup);
  }
  return context;
}

function renderOne(template: HandlebarsTemplateDelegate, view: TemplateView, maxOutputBytes: number): RenderOutcome {
  try {
    const html: unknown = template(withMarkup(view));
    if (typeof html !== "string") return { error: "render", message: "template did not produce a string" };
    if (exceeds(html, maxOutputBytes)) return { error: "output" };
    return { html: withDoctype(html) };
  } catch (error) {
    // V8's own string limit (about 2^29 characters) is an output that exceeds ours.
    if (error instanceof OutputLimitExceeded || (error instanceof RangeError && error.message === "Invalid string length")) return { error: "output" };
    return { error: "render", message: messageOf(error) };
  }
}

/** Piscina's entry point: one outcome per view, in order. */
export default function renderTickets(task: RenderTask): RenderOutcome[] {
  const { progress, epoch } = task;
  const mark = (index: number) => {
    Atomics.store(progress, 1, Date.now() - epoch);
    Atomics.store(progress, 0, index);
  };
  mark(0); // compiling counts against the first ticket's time
  outputLimit = task.maxOutputBytes;
  assets = task.assets;
  assetNames = new Set(task.assets.names);
  let template: HandlebarsTemplateDelegate;
  try {
    template = compiledTemplate(task.template);
  } catch (error) {
    const message = messageOf(error);
    return task.views.map(() => ({ error: "compile", message }));
  }
  return task.views.map((view, index) => {
    if (index > 0) mark(index);
    return renderOne(template, view, task.maxOutputBytes);
  });
}
