import { randomUUID } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";

/**
 * What a rendered ticket may do: load nothing from the network or disk (only inline styles and
 * data: images and fonts), run no script, and, through `sandbox`, neither navigate the page
 * (a meta refresh would otherwise replace the next ticket printed on it) nor submit forms.
 * Delivered as the HTTP header of the document every ticket is written into, so no markup can
 * remove it (a template's own `<meta>` policy can only add restrictions) and `sandbox`, which a
 * `<meta>` policy ignores, applies.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline' data:; font-src data:; base-uri 'none'; form-action 'none'; sandbox";

/** `.invalid` never resolves (RFC 2606): the document exists only as the router's answer. */
const ORIGIN = "http://ticket.invalid";

/** A request the policy let through and the router refused: it never reaches the network either. */
export type BlockedRequest = { url: string; navigation: boolean };

/**
 * Serves each page its policy document and refuses everything else: the document of a page is
 * served once, to the navigation the pool itself started (a template navigating to it gets
 * nothing); other navigations are answered 204, which keeps the ticket in place, and every
 * other request is aborted. A template's requests never get this far, as the policy blocks
 * them in Chromium first; `onBlocked` hears of any that did.
 */
export class PolicyDocuments {
  /** URLs a pool navigation is on its way to, each served once. */
  private readonly pending = new Set<string>();
  /** The document each page was given: a page elsewhere is taken back to a new one. */
  private readonly documents = new WeakMap<Page, string>();

  constructor(private readonly onBlocked: (request: BlockedRequest) => void = () => {}) {}

  async install(context: BrowserContext): Promise<void> {
    await context.route("**/*", (route) => {
      const request = route.request();
      const url = request.url();
      if (request.isNavigationRequest() && this.pending.delete(url)) {
        return route.fulfill({
          status: 200,
          headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": CONTENT_SECURITY_POLICY },
          body: "<!DOCTYPE html>",
        });
      }
      if (url.startsWith("data:")) return route.continue();
      this.onBlocked({ url, navigation: request.isNavigationRequest() });
      if (request.isNavigationRequest()) return route.fulfill({ status: 204 });
      return route.abort("blockedbyclient");
    });
  }

  /** Puts `page` on a policy document of its own, unless it is still on the one it was given. */
  async enter(page: Page, timeoutMs: number): Promise<void> {
    if (page.url() === this.documents.get(page)) return;
    const url = `${ORIGIN}/${randomUUID()}`;
    this.pending.add(url);
    try {
      // The policy is the document's from its commit on; waiting for "load" as well would double
      // the cost of a navigation (~100 ms), paid by every new page (a batch chunk's, each time).
      await page.goto(url, { waitUntil: "commit", timeout: timeoutMs });
    } finally {
      this.pending.delete(url);
    }
    this.documents.set(page, url);
  }
}
