import type { DOMPurify, WindowLike } from "dompurify";

/**
 * Sanitises an SVG so that, wherever it is drawn, it runs nothing and fetches nothing: DOMPurify
 * (on jsdom's DOM) keeps only SVG elements and attributes, dropping script, event handlers and
 * foreignObject; the hooks below drop what DOMPurify allows but a ticket must not have:
 * references outside the document (href, xlink:href, src other than `#fragment` or an inline
 * raster data: URL), CSS that fetches (@import, url() to anything else, image-set()) or hides
 * what it does (escapes), and SMIL animation (which can set an href after sanitising).
 */
const LINK_ATTRIBUTES = new Set(["href", "xlink:href", "src"]);
const INLINE_RASTER = /^data:image\/(?:png|jpeg|webp|gif);base64,[a-z0-9+/=\s]*$/i;
const isLocalReference = (value: string) => value.trim().startsWith("#") || INLINE_RASTER.test(value.trim());

const URL_CALL = /url\s*\(/gi;
const URL_TARGET = /url\s*\(\s*(['"]?)([^'")]*)\1\s*\)/gi;

/** CSS (a style sheet, a style attribute, a presentation attribute) that loads nothing. */
function isSelfContainedCss(css: string): boolean {
  if (/@import|\\|image-set\s*\(|\bsrc\s*\(/i.test(css)) return false;
  const targets = [...css.matchAll(URL_TARGET)];
  // A url( the pattern cannot read (unbalanced quotes or parentheses) counts as a fetch.
  return targets.length === (css.match(URL_CALL)?.length ?? 0) && targets.every((match) => isLocalReference(match[2]!));
}

const SANITISE = {
  USE_PROFILES: { svg: true, svgFilters: true },
  // Icon exports reuse shapes with <use href="#id">; the hook keeps it to this document.
  ADD_TAGS: ["use"],
  FORBID_TAGS: ["foreignObject", "animate", "animateMotion", "animateTransform", "animateColor", "set", "script"],
  RETURN_DOM: true as const,
};

interface Sanitiser {
  purify: DOMPurify;
  serialise(root: Element): string;
}

// jsdom and DOMPurify take ~110 MB and half a second to load: an API process loads them with
// its first SVG, not at start.
let loading: Promise<Sanitiser> | undefined;
function sanitiser(): Promise<Sanitiser> {
  return (loading ??= (async () => {
    const [{ JSDOM }, { default: createDOMPurify }] = await Promise.all([import("jsdom"), import("dompurify")]);
    const { window } = new JSDOM("");
    const purify = createDOMPurify(window as unknown as WindowLike);
    purify.addHook("uponSanitizeAttribute", (_node, data) => {
      const name = data.attrName.toLowerCase();
      if (LINK_ATTRIBUTES.has(name) ? !isLocalReference(data.attrValue) : !isSelfContainedCss(data.attrValue)) data.keepAttr = false;
    });
    purify.addHook("uponSanitizeElement", (node, data) => {
      if (data.tagName === "style" && !isSelfContainedCss(node.textContent ?? "")) node.textContent = "";
    });
    return { purify, serialise: (root) => new window.XMLSerializer().serializeToString(root) };
  })());
}

/** The sanitised document, serialised as XML, or undefined when no `<svg>` root is left. */
export async function sanitiseSvg(source: string): Promise<Buffer | undefined> {
  const { purify, serialise } = await sanitiser();
  const body = purify.sanitize(source, SANITISE) as Element;
  const root = Array.from(body.children).find((element) => element.localName === "svg");
  if (!root) return undefined;
  return Buffer.from(serialise(root), "utf8");
}
