import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { LRUCache } from "lru-cache";
import { DEFAULT_TEMPLATES_PATH } from "../paths.ts";
import { assetReferences } from "./asset-references.ts";
import { TemplateNotFoundError } from "./errors.ts";
import type { TemplateSource } from "./sandbox/protocol.ts";

/** Loads the source of a tenant template version; `undefined` when it does not exist. */
export type TemplateSourceFetcher = (tenantId: string, templateId: string, version: number) => Promise<string | undefined>;

/**
 * What picks a template (a render job is one): `templateVersion` 0 (or absent, for jobs queued
 * before the field existed) means the built-in template in `locale`.
 */
export interface TemplateRef {
  tenantId: string;
  templateId: string;
  locale: string;
  templateVersion?: number;
}

export interface TemplateRegistryOptions {
  /** Directory of the built-in templates (`ticket.hbs`, `ticket_<locale>.hbs`, `partials/*.hbs`). */
  templatesPath?: string;
  /** Source of tenant templates (Redis in production). Without it every custom reference is not found. */
  fetchCustom?: TemplateSourceFetcher;
  /** How long a template source is served before it is loaded again (TEMPLATE_CACHE_TTL). Default 5 min. */
  cacheTtlMs?: number;
  /** Most template sources kept; the least recently used one goes first. Default 500. */
  maxEntries?: number;
  /** Clock in ms, for tests. Default Date.now. */
  now?: () => number;
}

const BUILT_IN_NAME = "ticket";
const LOCALE_TAG = /^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
const MAX_LOCALE_LENGTH = 64;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Built-in file names to try for a locale, most specific first, lower-cased: "fr-CA" →
 * ["ticket_fr-ca.hbs", "ticket_fr.hbs", "ticket.hbs"]. Anything but letters, digits and
 * hyphens (after "_" → "-") goes straight to the default, so a locale never names a path.
 */
export function builtInCandidates(locale: string, name = BUILT_IN_NAME): string[] {
  const tag = (locale ?? "").trim().replaceAll("_", "-");
  const candidates: string[] = [];
  if (tag.length <= MAX_LOCALE_LENGTH && LOCALE_TAG.test(tag)) {
    const subtags = tag.toLowerCase().split("-");
    for (let n = subtags.length; n >= 1; n--) candidates.push(`${name}_${subtags.slice(0, n).join("-")}.hbs`);
  }
  candidates.push(`${name}.hbs`);
  return candidates;
}

/**
 * Loads shared by key for `ttlMs` from their start (not shared at all when 0), at most `max`
 * kept, the least recently used dropped first; a rejected load is dropped, not cached.
 */
class CachedLoads<T> {
  private readonly cache: LRUCache<string, Promise<T>> | undefined;

  constructor(ttlMs: number, max: number, now: () => number) {
    // ttlResolution 0: lru-cache would otherwise reuse a clock reading for up to a millisecond.
    if (ttlMs > 0) this.cache = new LRUCache({ max, ttl: ttlMs, ttlResolution: 0, perf: { now } });
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  clear(): void {
    this.cache?.clear();
  }

  getOrLoad(key: string, load: () => Promise<T>): Promise<T> {
    const cached = this.cache?.get(key);
    if (cached) return cached;
    const loading = load();
    if (this.cache) {
      const cache = this.cache;
      cache.set(key, loading);
      loading.catch(() => {
        if (cache.peek(key) === loading) cache.delete(key);
      });
    }
    return loading;
  }
}

/**
 * Ticket template sources: the built-ins of `templatesPath` by locale (with their partials),
 * and tenant templates by (tenant, id, version), each loaded once and cached for `cacheTtlMs`.
 * The template threads compile them (TemplateSandbox): nothing here runs a template.
 */
export class TemplateRegistry {
  readonly templatesPath: string;
  private readonly fetchCustom: TemplateSourceFetcher | undefined;
  private readonly templates: CachedLoads<TemplateSource>;
  private readonly listings: CachedLoads<Map<string, string>>;

  constructor(options: TemplateRegistryOptions = {}) {
    const ttl = options.cacheTtlMs ?? 5 * 60_000;
    const max = options.maxEntries ?? 500;
    if (!(ttl >= 0)) throw new RangeError(`cacheTtlMs must be >= 0, got ${ttl}`);
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`maxEntries must be an integer >= 1, got ${max}`);
    const now = options.now ?? Date.now;
    this.templatesPath = path.resolve(options.templatesPath ?? DEFAULT_TEMPLATES_PATH);
    this.fetchCustom = options.fetchCustom;
    this.templates = new CachedLoads(ttl, max, now);
    this.listings = new CachedLoads(ttl, 1, now);
  }

  /** The template of a render job: built-in when `templateVersion` is 0, else the tenant's. */
  resolve(ref: TemplateRef): Promise<TemplateSource> {
    if (!ref.templateVersion) return this.builtIn(ref.locale);
    return this.custom(ref.tenantId, ref.templateId, ref.templateVersion);
  }

  /** An unsaved tenant template (PreviewTemplate): run like any stored one, never cached. */
  inline(source: string): TemplateSource {
    return tenantSource(source);
  }

  /** The built-in template for a locale: ticket_fr-CA.hbs → ticket_fr.hbs → ticket.hbs. */
  async builtIn(locale: string): Promise<TemplateSource> {
    const file = await this.builtInFile(locale);
    return this.templates.getOrLoad(`builtin:${file}`, () => this.loadBuiltIn(file));
  }

  /** Which built-in file serves a locale (the file's real name). */
  async builtInFile(locale: string): Promise<string> {
    const files = await this.listings.getOrLoad("templates", () => this.listBuiltIns());
    for (const candidate of builtInCandidates(locale)) {
      const file = files.get(candidate);
      if (file) return file;
    }
    throw new TemplateNotFoundError(`no built-in template ${BUILT_IN_NAME}.hbs in ${this.templatesPath}`);
  }

  /** A tenant template version, fetched once per TTL. */
  custom(tenantId: string, templateId: string, version: number): Promise<TemplateSource> {
    if (!(Number.isSafeInteger(version) && version > 0)) {
      return Promise.reject(new TemplateNotFoundError(`template ${templateId} version ${version} is not a valid version`));
    }
    const key = `custom:${JSON.stringify([tenantId, templateId, version])}`;
    return this.templates.getOrLoad(key, async () => {
      const source = this.fetchCustom ? await this.fetchCustom(tenantId, templateId, version) : undefined;
      if (source === undefined) {
        throw new TemplateNotFoundError(`template ${templateId} version ${version} of tenant ${tenantId} not found`);
      }
      return tenantSource(source);
    });
  }

  /** Number of cached template sources. */
  get size(): number {
    return this.templates.size;
  }

  /** Drops every cached template and the built-in directory listing. */
  clear(): void {
    this.templates.clear();
    this.listings.clear();
  }

  private async listBuiltIns(): Promise<Map<string, string>> {
    let entries;
    try {
      entries = await readdir(this.templatesPath, { withFileTypes: true });
    } catch (error) {
      throw new TemplateNotFoundError(`cannot read the built-in templates in ${this.templatesPath}: ${messageOf(error)}`, { cause: error });
    }
    const files = new Map<string, string>();
    for (const entry of entries) {
      if (entry.isFile() && entry.name.endsWith(".hbs")) files.set(entry.name.toLowerCase(), entry.name);
    }
    return files;
  }

  /** A built-in with the shared partials (`partials/<name>.hbs`), which only built-ins can use. */
  private async loadBuiltIn(file: string): Promise<TemplateSource> {
    const partialsDir = path.join(this.templatesPath, "partials");
    let names: string[] = [];
    try {
      names = (await readdir(partialsDir)).filter((name) => name.endsWith(".hbs")).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const partials: Record<string, string> = {};
    for (const name of names) partials[name.slice(0, -".hbs".length)] = await readFile(path.join(partialsDir, name), "utf8");
    const source = await readFile(path.join(this.templatesPath, file), "utf8");
    const key = `builtin:${file}:${digest(JSON.stringify([source, partials]))}`;
    return { key, source, partials, trusted: true, label: file, assetNames: assetReferences([source, ...Object.values(partials)]) };
  }
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

/** Keyed by content: two tenants with the same source share a compiled template, which holds no data. */
function tenantSource(source: string): TemplateSource {
  return { key: `tenant:${digest(source)}`, source, trusted: false, assetNames: assetReferences([source]) };
}
