import Handlebars from "handlebars";
import { checkTemplateExpansion } from "./partial-expansion.ts";

/** A template source Handlebars cannot parse; `message` carries Handlebars' own message. */
export class TemplateCompileError extends Error {
  override readonly name = "TemplateCompileError";
}

/** Handlebars options of every template: HTML escaping on, lenient about missing fields. */
const COMPILE_OPTIONS: Readonly<CompileOptions> = { data: true, noEscape: false, strict: false };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Compiles in the given environment, parsing completely now (see compileTemplate). */
export function compileIn(env: typeof Handlebars, source: string): HandlebarsTemplateDelegate {
  if (typeof source !== "string") throw new TemplateCompileError("template source must be a string");
  try {
    // compile() only parses on the first call; precompile() parses and generates code now, so a
    // syntax error (`{{#if x}}` without `{{/if}}`) is reported here, not while rendering a ticket.
    env.precompile(source, { ...COMPILE_OPTIONS });
    return env.compile(source, { ...COMPILE_OPTIONS });
  } catch (error) {
    throw new TemplateCompileError(messageOf(error), { cause: error });
  }
}

/**
 * A Handlebars environment for one tenant template: its own helper and partial tables (no
 * built-in partials, nothing registered by other code on the global instance), default
 * prototype-access protections, and a silent `log` helper so templates cannot write to our logs.
 */
export function isolatedEnvironment(): typeof Handlebars {
  const env = Handlebars.create();
  env.registerHelper("log", () => "");
  return env;
}

/**
 * What the API checks before storing an untrusted (tenant) template: it compiles, and its
 * partials neither recurse nor expand past the static bound (checkPartialExpansion). Throws
 * TemplateCompileError with Handlebars' message or one naming the partial.
 */
export function checkTemplate(source: string, env: typeof Handlebars = isolatedEnvironment()): void {
  if (typeof source !== "string") throw new TemplateCompileError("template source must be a string");
  try {
    env.precompile(source, { ...COMPILE_OPTIONS });
    checkTemplateExpansion(env, source);
  } catch (error) {
    throw new TemplateCompileError(messageOf(error), { cause: error });
  }
}

/**
 * Compiles an untrusted (tenant) template in an isolated environment (or `env`, one made by
 * isolatedEnvironment) after checkTemplate: what workers render tenant templates with. Throws
 * TemplateCompileError.
 */
export function compileTemplate(source: string, env: typeof Handlebars = isolatedEnvironment()): HandlebarsTemplateDelegate {
  checkTemplate(source, env);
  try {
    return env.compile(source, { ...COMPILE_OPTIONS });
  } catch (error) {
    throw new TemplateCompileError(messageOf(error), { cause: error });
  }
}
