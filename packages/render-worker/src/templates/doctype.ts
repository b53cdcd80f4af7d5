/**
 * Puts `<!DOCTYPE html>` before a document that lacks one, so that every ticket renders in
 * standards mode. The prolog (BOM, whitespace, comments) is read the way the HTML tokenizer
 * reads it, so a doctype after a leading comment counts and a decoy inside one does not.
 */
export function withDoctype(html: string): string {
  const start = html.charCodeAt(0) === 0xfeff ? 1 : 0;
  const i = skipTrivia(html, start);
  if (html.slice(i, i + 9).toLowerCase() === "<!doctype") return html;
  return `${html.slice(0, start)}<!DOCTYPE html>${html.slice(start)}`;
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
