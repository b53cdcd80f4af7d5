import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkTemplate, MAX_STATIC_EXPANSION, TemplateCompileError } from "../src/index.ts";

const TEMPLATES = path.join(import.meta.dirname, "..", "..", "..", "templates");

function refusal(source: string): string {
  try {
    checkTemplate(source);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateCompileError);
    return (error as Error).message;
  }
  throw new Error("checkTemplate accepted the template");
}

/** Ten inline partials, each calling the previous one `fanOut` times: 10 × fanOut^9 characters. */
function nestedBomb(fanOut: number): string {
  const names = "abcdefghij";
  let source = `{{#*inline "a"}}xxxxxxxxxx{{/inline}}`;
  for (let i = 1; i < names.length; i++) source += `{{#*inline "${names[i]}"}}${`{{>${names[i - 1]}}}`.repeat(fanOut)}{{/inline}}`;
  return `${source}{{>j}}`;
}

describe("PutTemplate's static check of partials", () => {
  it("passes every built-in template and partial, and templates that use partials sensibly", () => {
    const files = [
      ...readdirSync(TEMPLATES).filter((f) => f.endsWith(".hbs")),
      ...readdirSync(path.join(TEMPLATES, "partials")).map((f) => path.join("partials", f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) expect(() => checkTemplate(readFileSync(path.join(TEMPLATES, file), "utf8"))).not.toThrow();
    // The templates of the API tests: a partial per guest name, called dynamically.
    checkTemplate('{{#*inline "Ada"}}<h1>Welcome {{firstName}} {{lastName}}</h1>{{/inline}}{{> (lookup . "firstName")}}{{qrCode}}');
    checkTemplate("<p>{{> (lookup . 'firstName') }}</p>");
    // Partials calling partials, a layout with a partial block, an else branch: small expansions.
    checkTemplate(`{{#*inline "row"}}<tr><td>{{label}}</td></tr>{{/inline}}{{#*inline "table"}}<table>{{> row label="a"}}{{> row label="b"}}</table>{{/inline}}
      {{#*inline "layout"}}<main>{{> @partial-block}}</main>{{/inline}}{{#> layout}}{{> table}}{{#if vip}}{{> table}}{{else}}{{> row}}{{/if}}{{/layout}}`);
  });

  it("refuses a template bomb of nested inline partials, naming the first partial over the bound and what to do", () => {
    expect(refusal(nestedBomb(10))).toBe(
      `partial "f" expands to more than ${MAX_STATIC_EXPANSION} characters of template (partials calling partials multiply); call partials fewer times or nest them less deeply`,
    );
    // The same nesting with two calls a level stays small (5,110 characters): accepted.
    checkTemplate(nestedBomb(2));
  });

  it("refuses a partial block repeated by the partial that wraps it, nested", () => {
    const source = `{{#*inline "twice"}}{{> @partial-block}}{{> @partial-block}}{{/inline}}${"{{#> twice}}".repeat(25)}x${"{{/twice}}".repeat(25)}`;
    expect(refusal(source)).toBe(
      `the template expands to more than ${MAX_STATIC_EXPANSION} characters of template through its partial calls; call partials fewer times`,
    );
  });

  it.each([
    ['{{#*inline "a"}}<p>{{> a}}</p>{{/inline}}{{> a}}', '"a" → "a"'],
    ['{{#*inline "a"}}{{> b}}{{/inline}}{{#*inline "b"}}{{#if x}}{{> a}}{{/if}}{{/inline}}{{> a}}', '"a" → "b" → "a"'],
    // Never called, still refused: a bomb must not wait for its first caller.
    ['{{#*inline "loop"}}{{#each this}}{{> "loop"}}{{/each}}{{/inline}}<p>unused</p>', '"loop" → "loop"'],
  ])("refuses a recursive partial (%s)", (source, cycle) => {
    expect(refusal(source)).toMatch(
      new RegExp(
        `^partial "\\w+" calls itself \\(${cycle}\\); a recursive partial never ends for a ticket: remove the call that loops back$`,
      ),
    );
  });

  it("still reports Handlebars' own message for a template that does not parse", () => {
    expect(refusal("{{#if x}}oops")).toMatch(/^Parse error on line 1/);
  });
});
