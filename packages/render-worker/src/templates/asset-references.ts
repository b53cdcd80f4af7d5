/** `asset "name"` or `hasAsset 'name'`, in a mustache or a subexpression. */
const REFERENCE = /\b(?:asset|hasAsset)\s+(?:"([^"]*)"|'([^']*)')/g;

/**
 * The asset names a template spells out (`{{asset "logo"}}`, `(hasAsset "logo")`), so that a
 * render fetches only those. A name given through a variable is not seen: the template thread
 * then fails the ticket saying to write it in quotes. Reading the source, not Handlebars' parse
 * tree, may find a name in a comment too: fetching one asset too many is harmless.
 */
export function assetReferences(sources: readonly string[]): string[] {
  const names = new Set<string>();
  for (const source of sources) {
    for (const match of source.matchAll(REFERENCE)) names.add(match[1] ?? match[2]!);
  }
  return [...names];
}
