import type Handlebars from "handlebars";

type Node = hbs.AST.Node;
type Program = hbs.AST.Program;

/**
 * Most template text a tenant template may statically expand to: literal text plus one unit per
 * mustache, with every partial call counted as its partial's own expansion. Ordinary templates
 * expand to a few thousand; a template bomb (inline partials calling partials ten deep) to
 * billions. Renders are bounded at run time too; this refuses what can be seen up front.
 */
export const MAX_STATIC_EXPANSION = 1_000_000;

/** A tenant template refused by the static analysis; the message names the partial. */
export class PartialExpansionError extends Error {
  override readonly name = "PartialExpansionError";
}

/** What one body of template holds: its own size, and the partials it calls. */
interface Body {
  units: number;
  calls: Array<{ name: string; times: number; block?: Body }>;
  /** `{{> @partial-block}}` calls: how often a partial block's content is repeated. */
  blockCalls: number;
}

/** A statically named partial (`{{> name}}`, `{{> "name"}}`); undefined for `{{> (dynamic)}}`. */
function staticName(name: hbs.AST.PathExpression | hbs.AST.SubExpression | hbs.AST.Literal): string | undefined {
  if (name.type === "PathExpression") return (name as hbs.AST.PathExpression).data ? undefined : (name as hbs.AST.PathExpression).original;
  if (name.type === "SubExpression") return undefined;
  return String((name as hbs.AST.StringLiteral).value);
}

function isPartialBlockCall(name: Node): boolean {
  return name.type === "PathExpression" && (name as hbs.AST.PathExpression).data && (name as hbs.AST.PathExpression).original === "@partial-block";
}

/**
 * Reads a template's AST once: the top-level body, and each `{{#*inline "name"}}` body (a
 * partial defined twice keeps its larger body: either may be the one a call reaches).
 * Partials are matched by name whatever the scope they were defined in, and a call inside
 * `{{#each}}` counts once: the bound is on what the source spells out, not on the data.
 */
class Collector {
  readonly partials = new Map<string, Body>();

  body(program: Program | undefined): Body {
    const body: Body = { units: 0, calls: [], blockCalls: 0 };
    for (const statement of program?.body ?? []) this.statement(statement, body);
    return body;
  }

  private statement(node: hbs.AST.Statement, into: Body): void {
    switch (node.type) {
      case "ContentStatement":
        into.units += (node as hbs.AST.ContentStatement).value.length;
        return;
      case "MustacheStatement":
        into.units += 1;
        return;
      case "BlockStatement": {
        const block = node as hbs.AST.BlockStatement;
        into.units += 1;
        this.merge(into, this.body(block.program));
        this.merge(into, this.body(block.inverse));
        return;
      }
      case "DecoratorBlock": {
        const decorator = node as hbs.AST.DecoratorBlock;
        const [first] = decorator.params;
        if (decorator.path.original === "inline" && first?.type === "StringLiteral") {
          const name = (first as hbs.AST.StringLiteral).value;
          const body = this.body(decorator.program);
          const known = this.partials.get(name);
          if (!known || weight(body) > weight(known)) this.partials.set(name, body);
        }
        return;
      }
      case "PartialStatement": {
        const partial = node as hbs.AST.PartialStatement;
        into.units += 1;
        if (isPartialBlockCall(partial.name)) into.blockCalls += 1;
        const name = staticName(partial.name);
        if (name !== undefined) into.calls.push({ name, times: 1 });
        return;
      }
      case "PartialBlockStatement": {
        const partial = node as hbs.AST.PartialBlockStatement;
        into.units += 1;
        const block = this.body(partial.program);
        const name = staticName(partial.name);
        if (name !== undefined) into.calls.push({ name, times: 1, block });
        else this.merge(into, block);
        return;
      }
      default:
        return; // comments, decorators without a body
    }
  }

  private merge(into: Body, from: Body): void {
    into.units += from.units;
    into.calls.push(...from.calls);
    into.blockCalls += from.blockCalls;
  }
}

/** A rough size to choose between two definitions of one name. */
function weight(body: Body): number {
  return body.units + body.calls.length;
}

/**
 * Refuses recursive inline partials and templates whose static expansion exceeds `limit`
 * (PartialExpansionError, naming the partial and what to do). Dynamic partials
 * (`{{> (lookup …)}}`) cannot be followed here; the render-time limits stop those.
 */
export function checkPartialExpansion(program: Program, limit = MAX_STATIC_EXPANSION): void {
  const collector = new Collector();
  const top = collector.body(program);
  const partials = collector.partials;
  const expansion = new Map<string, number>();
  const path: string[] = [];

  const sizeOf = (body: Body): number => {
    let total = body.units;
    for (const call of body.calls) {
      const callee = partials.get(call.name);
      // A partial nobody defined fails at render time ("could not be found"): nothing to expand.
      const calleeSize = callee ? expand(call.name, callee) : 0;
      const blockSize = call.block ? Math.max(1, callee?.blockCalls ?? 1) * sizeOf(call.block) : 0;
      total += call.times * (calleeSize + blockSize);
      if (total > limit) return total;
    }
    return total;
  };

  function expand(name: string, body: Body): number {
    const known = expansion.get(name);
    if (known !== undefined) return known;
    const cycleStart = path.indexOf(name);
    if (cycleStart >= 0) {
      const cycle = [...path.slice(cycleStart), name].map((n) => `"${n}"`).join(" → ");
      throw new PartialExpansionError(
        `partial "${name}" calls itself (${cycle}); a recursive partial never ends for a ticket: remove the call that loops back`,
      );
    }
    path.push(name);
    const size = sizeOf(body);
    path.pop();
    if (size > limit) {
      throw new PartialExpansionError(
        `partial "${name}" expands to more than ${limit} characters of template (partials calling partials multiply); ` +
          "call partials fewer times or nest them less deeply",
      );
    }
    expansion.set(name, size);
    return size;
  }

  // Every definition is checked, called or not: a bomb must not wait for its first caller.
  for (const [name, body] of partials) expand(name, body);
  if (sizeOf(top) > limit) {
    throw new PartialExpansionError(
      `the template expands to more than ${limit} characters of template through its partial calls; call partials fewer times`,
    );
  }
}

/** Parses `source` with `env` and checks its partials (see checkPartialExpansion). */
export function checkTemplateExpansion(env: typeof Handlebars, source: string, limit = MAX_STATIC_EXPANSION): void {
  checkPartialExpansion(env.parse(source), limit);
}
