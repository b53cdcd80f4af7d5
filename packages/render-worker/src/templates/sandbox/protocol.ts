/** What the render worker and its template threads exchange (structured-cloned, so plain data). */

/** A template as the threads compile it. */
export interface TemplateSource {
  /** Names the compiled template in a thread's cache: one key, one source. */
  key: string;
  source: string;
  /** Built-ins only: the shared partials (`partials/<name>.hbs`), by name. */
  partials?: Record<string, string>;
  /** Built-ins are ours; tenant templates are checked (checkTemplate) and compiled isolated. */
  trusted: boolean;
  /** Put before a built-in's compile errors (its file name); tenant errors stand alone. */
  label?: string;
  /** The asset names the template spells out (assetReferences); absent: none. */
  assetNames?: readonly string[];
}

/**
 * A tenant's assets as a render task carries them: once per task (a chunk's tickets share it),
 * so a logo is encoded once per chunk, not once per ticket.
 */
export interface TemplateAssets {
  /** Every asset of the tenant: what `{{#if (hasAsset "logo")}}` tests. */
  names: readonly string[];
  /** data: URLs (checked type, base64 bytes) of the assets the template names, by name. */
  urls: Readonly<Record<string, string>>;
}

/** A ticket's view: strings and booleans only; `qrCode` is markup the thread marks safe. */
export type TemplateView = Record<string, string | boolean>;

/** View fields holding our own markup, inserted unescaped (every other field is escaped). */
export const MARKUP_FIELDS = ["qrCode"] as const;

export interface RenderTask {
  template: TemplateSource;
  views: TemplateView[];
  assets: TemplateAssets;
  maxOutputBytes: number;
  /**
   * On a SharedArrayBuffer, written by the thread as it goes: [0] the index of the view being
   * rendered (-1 before the first), [1] when it started, in ms after `epoch`. The worker reads
   * it to stop a ticket at its time limit and to know which ticket a killed thread was on.
   */
  progress: Int32Array;
  epoch: number;
}

export type RenderOutcome =
  | { html: string }
  | { error: "compile" | "render"; message: string }
  /** The output exceeded maxOutputBytes (the worker words the reason). */
  | { error: "output" };
