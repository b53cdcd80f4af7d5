const BODY = /<body\b([^>]*)>([\s\S]*?)(?:<\/body>|$)/i;
const HEAD_END = /<\/head\s*>/i;

/**
 * Joins the HTML documents of one chunk's tickets (same template, so the same head and
 * styles) into one document with a page break before every ticket but the first: Chromium
 * then prints a hundred tickets for the fixed cost of one print.
 */
export function combineDocuments(documents: readonly string[]): string {
  const [first] = documents;
  if (first === undefined) throw new Error("no document to combine");
  const headEnd = HEAD_END.exec(first);
  const head = headEnd ? first.slice(0, headEnd.index + headEnd[0].length) : "";
  const bodyAttributes = BODY.exec(first)?.[1] ?? "";
  const sections = documents.map((document, i) => {
    const body = BODY.exec(document)?.[2] ?? document.slice(HEAD_END.exec(document)?.index ?? 0);
    // Inline !important outranks every declaration of the template's stylesheets: a template
    // cannot undo the breaks and have the split hand one guest another's page. The transform
    // makes each ticket the containing block of its fixed elements, which print would otherwise
    // repeat on every page of the document: on every other guest's ticket.
    return `<div style="${i === 0 ? "" : "break-before: page !important; "}display: flow-root !important; transform: translate(0, 0) !important">${body}</div>`;
  });
  return `${head}<body${bodyAttributes}>${sections.join("\n")}</body></html>`;
}
