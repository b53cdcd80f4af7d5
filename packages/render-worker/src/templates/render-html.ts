import { TemplateRenderError } from "./errors.ts";
import type { TicketView } from "./ticket-view.ts";

/**
 * What a rendered ticket may load: nothing from the network or disk, only inline styles and
 * data: images and fonts; no script at all (JavaScript is off in Chromium as well). Every CSP
 * a document declares is enforced, so a template adding its own policy can only tighten it.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline' data:; font-src data:; base-uri 'none'; form-action 'none'";

export const CSP_META = `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`;

/** Runs a ticket template; a throwing template fails this ticket alone, as TemplateRenderError. */
export function renderTicketHtml(template: HandlebarsTemplateDelegate, view: TicketView): string {
  let html: string;
  try {
    html = template(view);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TemplateRenderError(message, { cause: error });
  }
  if (typeof html !== "string") throw new TemplateRenderError("template did not produce a string");
  return withContentSecurityPolicy(html);
}

/**
 * Puts CSP_META first in the document's head, creating the doctype, `<html>` and `<head>` when
 * the markup lacks them. The prolog (BOM, whitespace, comments, doctype, `<html …>`, `<head …>`)
 * is read the way the HTML tokenizer reads it, so a decoy such as `<!--><head>…-->` or a `>`
 * inside a quoted attribute cannot move the policy out of the real head.
 */
export function withContentSecurityPolicy(html: string): string {
  let i = html.charCodeAt(0) === 0xfeff ? 1 : 0;
  const start = i;
  i = skipTrivia(html, i);

  let hasDoctype = false;
  if (html.slice(i, i + 9).toLowerCase() === "<!doctype") {
    const end = html.indexOf(">", i);
    i = end < 0 ? html.length : end + 1;
    hasDoctype = true;
    i = skipTrivia(html, i);
  }
  const prefix = hasDoctype ? "" : "<!DOCTYPE html>";

  let htmlTagEnd = -1;
  if (isStartTag(html, i, "html")) {
    htmlTagEnd = startTagEnd(html, i + "<html".length);
    if (htmlTagEnd > 0) i = skipTrivia(html, htmlTagEnd);
  }
  if (isStartTag(html, i, "head")) {
    const headTagEnd = startTagEnd(html, i + "<head".length);
    if (headTagEnd > 0) return splice(html, start, prefix, headTagEnd, CSP_META);
  }
  if (htmlTagEnd > 0) return splice(html, start, prefix, htmlTagEnd, `<head>${CSP_META}</head>`);
  return splice(html, start, prefix, i, `<html><head>${CSP_META}</head>`);
}

function splice(html: string, start: number, prefix: string, at: number, insert: string): string {
  return prefix + html.slice(start, at) + insert + html.slice(at);
}

function isWhitespace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f";
}

/** Skips whitespace, comments and bogus comments (`<!…>`, `<?…>`) as the tokenizer does. */
function skipTrivia(html: string, from: number): number {
  let i = from;
  for (;;) {
    while (isWhitespace(html[i])) i++;
    if (html.startsWith("<!--", i)) {
      const body = i + 4;
      if (html[body] === ">") i = body + 1; // "<!-->"
      else if (html.startsWith("->", body)) i = body + 2; // "<!--->"
      else {
        const dashes = html.indexOf("-->", body);
        const bang = html.indexOf("--!>", body);
        if (dashes < 0 && bang < 0) return html.length;
        i = bang < 0 || (dashes >= 0 && dashes < bang) ? dashes + 3 : bang + 4;
      }
    } else if ((html.startsWith("<!", i) && html.slice(i, i + 9).toLowerCase() !== "<!doctype") || html.startsWith("<?", i)) {
      const end = html.indexOf(">", i + 2);
      if (end < 0) return html.length;
      i = end + 1;
    } else return i;
  }
}

function isStartTag(html: string, at: number, name: string): boolean {
  if (html.slice(at, at + 1 + name.length).toLowerCase() !== `<${name}`) return false;
  const next = html[at + 1 + name.length];
  return isWhitespace(next) || next === "/" || next === ">";
}

/** Index just past the `>` of a start tag whose name ends at `from`; -1 if it never closes. */
function startTagEnd(html: string, from: number): number {
  type State = "beforeName" | "name" | "afterName" | "beforeValue" | "doubleQuoted" | "singleQuoted" | "unquoted" | "afterQuoted" | "selfClosing";
  let state: State = "beforeName";
  for (let i = from; i < html.length; i++) {
    const c = html[i];
    switch (state) {
      case "beforeName":
        if (isWhitespace(c)) break;
        if (c === ">") return i + 1;
        if (c === "/") state = "selfClosing";
        else state = "name"; // includes a leading "=" as part of the name
        break;
      case "name":
        if (isWhitespace(c)) state = "afterName";
        else if (c === "/") state = "selfClosing";
        else if (c === ">") return i + 1;
        else if (c === "=") state = "beforeValue";
        break;
      case "afterName":
        if (isWhitespace(c)) break;
        if (c === "/") state = "selfClosing";
        else if (c === "=") state = "beforeValue";
        else if (c === ">") return i + 1;
        else state = "name";
        break;
      case "beforeValue":
        if (isWhitespace(c)) break;
        if (c === '"') state = "doubleQuoted";
        else if (c === "'") state = "singleQuoted";
        else if (c === ">") return i + 1;
        else state = "unquoted";
        break;
      case "doubleQuoted":
        if (c === '"') state = "afterQuoted";
        break;
      case "singleQuoted":
        if (c === "'") state = "afterQuoted";
        break;
      case "unquoted":
        if (isWhitespace(c)) state = "beforeName";
        else if (c === ">") return i + 1;
        break;
      case "afterQuoted":
        if (isWhitespace(c)) state = "beforeName";
        else if (c === "/") state = "selfClosing";
        else if (c === ">") return i + 1;
        else state = "name";
        break;
      case "selfClosing":
        if (c === ">") return i + 1;
        if (isWhitespace(c)) state = "beforeName";
        else state = "name";
        break;
    }
  }
  return -1;
}
