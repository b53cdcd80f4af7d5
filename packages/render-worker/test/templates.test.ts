import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Handlebars from "handlebars";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  DEFAULT_TEMPLATES_PATH,
  TemplateCompileError,
  TemplateNotFoundError,
  TemplateRegistry,
  TemplateRenderError,
  TemplateSandbox,
  isTemplateError,
  qrSvg,
  ticketView,
  withDoctype,
  type TemplateSource,
  type TemplateView,
  type TicketRenderJob,
} from "../src/templates/index.ts";
import { compileTemplate } from "@ticketgen/shared";

// Browser globals used inside page.evaluate(); the project's tsconfig has no DOM lib.
declare const document: { compatMode: string };

const CHROMIUM = process.env.CHROMIUM_EXECUTABLE_PATH ?? "/usr/bin/chromium";
const NBSP = "\u00a0";
const NOW = new Date("2027-03-01T09:00:00Z");
const TOKEN = "TG1.K1.AGIS2TEKHZ5V7HBBHZHVU234RUM7QKW5CF2SNTTIWYLWB7CFEL7X64JF6G5FYWVG3KIPTJA";

function job(overrides: Partial<TicketRenderJob> = {}): TicketRenderJob {
  return {
    tenantId: "tenant-1",
    ticketId: "0d7f3c1e-8a51-4c1e-9b1a-2f6f1c9e4a10",
    ticketCode: "TKT-MF3K2Q1Z-7QX4PB-3F9A1C2E",
    qrPayload: TOKEN,
    templateId: "default",
    templateVersion: 0,
    locale: "en",
    event: {
      id: "event-1",
      name: "Nordic Sounds Festival",
      startsAt: "2027-03-05T18:30:00Z",
      endsAt: "2027-03-05T22:00:00Z",
      location: "Salle Pleyel, Paris",
      timezone: "Europe/Paris",
    },
    guest: { id: "guest-1", firstName: "Amélie", lastName: "Dupont", email: "amelie@example.org" },
    ticketType: { id: "type-1", name: "VIP" },
    createdAt: "2027-01-10T10:00:00Z",
    ...overrides,
  };
}

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><path d="M0 0h1v1H0z"/></svg>';

let sandbox: TemplateSandbox;
beforeAll(() => {
  sandbox = new TemplateSandbox({ threads: 1, timeoutMs: 10_000, maxOutputBytes: 2 * 1024 * 1024, maxMemoryMb: 64 });
});
afterAll(async () => {
  await sandbox?.close();
});

/** Runs a template on a template thread, as the worker does: its HTML, or the error that fails the ticket. */
async function run(template: TemplateSource, view: TemplateView): Promise<string> {
  const [outcome] = await sandbox.render(template, [view]);
  if (typeof outcome !== "string") throw outcome;
  return outcome;
}

const tenant = (source: string) => new TemplateRegistry().inline(source);

async function renderBuiltIn(registry: TemplateRegistry, ticket: TicketRenderJob, svg = SVG): Promise<string> {
  return run(await registry.resolve(ticket), ticketView(ticket, svg, NOW));
}

/** A fetcher that counts calls, over an in-memory store keyed by tenant/id/version. */
function fakeStore(sources: Record<string, string>) {
  return vi.fn(async (tenantId: string, templateId: string, version: number) => sources[`${tenantId}/${templateId}/${version}`]);
}

describe("built-in templates: locale fallback", () => {
  const registry = new TemplateRegistry();

  it("resolves the repository's templates/ directory by default", () => {
    expect(registry.templatesPath).toBe(path.resolve(DEFAULT_TEMPLATES_PATH));
    expect(existsSync(path.join(registry.templatesPath, "ticket.hbs"))).toBe(true);
  });

  it.each([
    ["fr", "ticket_fr.hbs"],
    ["fr-CA", "ticket_fr.hbs"],
    ["FR-ca", "ticket_fr.hbs"],
    ["fr_CA", "ticket_fr.hbs"],
    ["en", "ticket_en.hbs"],
    ["EN", "ticket_en.hbs"],
    ["en-GB", "ticket_en.hbs"],
    ["de", "ticket.hbs"],
    ["", "ticket.hbs"],
    ["../../etc", "ticket.hbs"],
    ["../ticket_fr", "ticket.hbs"],
    ["fr/../../x", "ticket.hbs"],
    ["fr\u0000", "ticket.hbs"],
    ["partials/ticket-styles", "ticket.hbs"],
  ])("locale %j → %s", async (locale, file) => {
    expect(await registry.builtInFile(locale)).toBe(file);
  });

  describe("in a templates directory with a regional variant", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "ticketgen-templates-"));
      await mkdir(path.join(dir, "partials"));
      await writeFile(path.join(dir, "partials", "greeting.hbs"), "Hello");
      await writeFile(path.join(dir, "ticket.hbs"), "default {{> greeting}}");
      await writeFile(path.join(dir, "ticket_fr.hbs"), "fr");
      await writeFile(path.join(dir, "ticket_fr-CA.hbs"), "fr-CA {{eventName}}");
      await writeFile(path.join(dir, "ticket_broken.hbs"), "{{#if x}}oops");
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("prefers the most specific file, matching case-insensitively", async () => {
      const local = new TemplateRegistry({ templatesPath: dir });
      expect(await local.builtInFile("fr-CA")).toBe("ticket_fr-CA.hbs");
      expect(await local.builtInFile("fr-ca")).toBe("ticket_fr-CA.hbs");
      expect(await local.builtInFile("fr-BE")).toBe("ticket_fr.hbs");
      expect(await local.builtInFile("it")).toBe("ticket.hbs");
      expect(await run(await local.builtIn("fr-ca"), { eventName: "x" })).toBe("<!DOCTYPE html>fr-CA x");
      expect(await run(await local.builtIn("it"), {})).toBe("<!DOCTYPE html>default Hello");
    });

    it("reports a built-in that does not compile with the file name", async () => {
      const local = new TemplateRegistry({ templatesPath: dir });
      const broken = await local.builtIn("broken");
      await expect(run(broken, {})).rejects.toThrow(TemplateCompileError);
      await expect(run(broken, {})).rejects.toThrow(/^ticket_broken\.hbs: Parse error/);
    });

    it("fails clearly when there is no default template", async () => {
      const local = new TemplateRegistry({ templatesPath: path.join(dir, "partials") });
      await expect(local.builtInFile("de")).rejects.toThrow(TemplateNotFoundError);
      await expect(local.builtInFile("de")).rejects.toThrow(/no built-in template ticket\.hbs in /);
      const missing = new TemplateRegistry({ templatesPath: path.join(dir, "nope") });
      await expect(missing.builtIn("en")).rejects.toThrow(/cannot read the built-in templates/);
    });
  });
});

describe("built-in templates: wording and dates", () => {
  const registry = new TemplateRegistry();

  it("French: French wording and typography, date and time in the event's time zone", async () => {
    const html = await renderBuiltIn(registry, job({ locale: "fr" }));
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain("Billet d’entrée");
    expect(html).toContain("Titulaire");
    expect(html).toContain("Bon à savoir");
    expect(html).toContain("entrée&nbsp;: ne le partagez pas");
    // 18:30 UTC is 19:30 in Paris (UTC+1 in March).
    expect(html).toContain("vendredi 5 mars 2027");
    expect(html).toContain(`19${NBSP}h${NBSP}30 – 23${NBSP}h UTC+1`);
    expect(html).toContain(`Généré le <bdi>1er mars 2027 à 10${NBSP}h UTC+1</bdi>`);
    expect(html).toContain("Amélie Dupont");
    expect(html).toContain("TKT-MF3K2Q1Z-7QX4PB-3F9A1C2E");
    expect(html).toContain(SVG);
    expect(html).not.toContain("Admission ticket");
  });

  it("English: English wording, 12-hour time with the offset", async () => {
    const html = await renderBuiltIn(registry, job({ locale: "en" }));
    expect(html).toContain('<html lang="en">');
    expect(html).toContain("Admission ticket");
    expect(html).toContain("Friday, March 5, 2027");
    expect(html).toMatch(/7:30\sPM – 11:00\sPM GMT\+1/);
    expect(html).not.toContain("Billet");
  });

  it("other locales get the default (English) template with dates in their language", async () => {
    const html = await renderBuiltIn(registry, job({ locale: "de" }));
    expect(html).toContain("Admission ticket");
    expect(html).toContain("Freitag, 5. März 2027");
    expect(html).toContain("19:30 – 23:00 MEZ");
  });

  it("the same instant reads in the event's zone, not the server's", async () => {
    const html = await renderBuiltIn(
      registry,
      job({ locale: "en", event: { ...job().event, timezone: "America/New_York", endsAt: null } }),
    );
    expect(html).toContain("Friday, March 5, 2027");
    expect(html).toMatch(/1:30\sPM EST/);
  });

  it("an event ending on another local day shows its end date", async () => {
    const overnight = job({ locale: "fr", event: { ...job().event, startsAt: "2027-03-31T20:00:00Z", endsAt: "2027-04-01T01:00:00Z" } });
    const html = await renderBuiltIn(registry, overnight);
    expect(html).toContain("<dt>Fin</dt>");
    expect(html).toContain(`jeudi 1er avril 2027 à 3${NBSP}h UTC+2`);
    expect(await renderBuiltIn(registry, job({ locale: "fr" }))).not.toContain("<dt>Fin</dt>");
  });

  it("HTML-escapes guest-provided text, not the QR markup", async () => {
    const hostile = job({
      guest: { id: "g", firstName: "<script>alert(1)</script>", lastName: `"><img src=x onerror=alert(1)>`, email: "a&b@example.org" },
      event: { ...job().event, name: "</title><style>body{display:none}</style>", location: "{{ticketCode}}" },
    });
    for (const locale of ["en", "fr", "de"]) {
      const html = await renderBuiltIn(registry, { ...hostile, locale });
      expect(html).not.toContain("<script>");
      expect(html).not.toContain("<img");
      expect(html).not.toContain("<style>body");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      expect(html).toContain("&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;");
      expect(html).toContain("a&amp;b@example.org");
      expect(html).toContain("{{ticketCode}}");
      expect(html).toContain(SVG);
    }
  });

  it("built-ins hold no script, external URL or image other than the QR", async () => {
    for (const locale of ["en", "fr", "de"]) {
      const html = await renderBuiltIn(registry, job({ locale }));
      expect(html).not.toMatch(/<script|<img|<link|<iframe|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
      expect(html).not.toMatch(/@font-face/i);
      expect(html).toContain('"DejaVu Sans Mono",monospace');
    }
  });
});

describe("ticketView", () => {
  it("formats in the event's time zone and the ticket's locale, with the zone", () => {
    const fr = ticketView(job({ locale: "fr" }), SVG, NOW);
    expect(fr.eventDate).toBe(`vendredi 5 mars 2027 à 19${NBSP}h${NBSP}30 UTC+1`);
    expect(fr.eventTime).toBe(`19${NBSP}h${NBSP}30 – 23${NBSP}h UTC+1`);
    expect(fr.timeZoneName).toBe("UTC+1");
    expect(fr.timezone).toBe("Europe/Paris");
    expect(fr.lang).toBe("fr");
    const en = ticketView(job({ locale: "en" }), SVG, NOW);
    expect(en.eventDate).toMatch(/^Friday, March 5, 2027 at 7:30\sPM GMT\+1$/);
    expect(en.generatedAt).toMatch(/^March 1, 2027 at 10:00\sAM GMT\+1$/);
    expect(en.eventEndsOnOtherDay).toBe(false);
    expect(en.guestName).toBe("Amélie Dupont");
  });

  it("is plain data: the QR markup is a string that the template thread inserts unescaped, every other field is escaped", async () => {
    const view = ticketView(job({ guest: { ...job().guest, firstName: "<b>Amélie</b>" } }), SVG, NOW);
    expect(view.qrCode).toBe(SVG);
    expect(view.firstName).toBe("<b>Amélie</b>");
    expect(view.ticketCode).toBe("TKT-MF3K2Q1Z-7QX4PB-3F9A1C2E");
    expect(await run(tenant("{{qrCode}}|{{firstName}}"), view)).toBe(`<!DOCTYPE html>${SVG}|&lt;b&gt;Amélie&lt;/b&gt;`);
  });

  it("an empty or invalid locale falls back to English; an unknown time zone to explicit UTC", () => {
    expect(ticketView(job({ locale: "" }), SVG, NOW).lang).toBe("en");
    expect(ticketView(job({ locale: "not a locale!" }), SVG, NOW).lang).toBe("en");
    expect(ticketView(job({ locale: "fr_CA" }), SVG, NOW).lang).toBe("fr-CA");
    const utc = ticketView(job({ event: { ...job().event, timezone: "Mars/Olympus_Mons" } }), SVG, NOW);
    expect(utc.timezone).toBe("UTC");
    expect(utc.eventDate).toMatch(/6:30\sPM UTC$/);
  });

  it("rejects an event without a valid start", () => {
    expect(() => ticketView(job({ event: { ...job().event, startsAt: "soon" } }), SVG, NOW)).toThrow(/event.startsAt is not a valid date/);
  });
});

describe("tenant templates", () => {
  const CUSTOM = "<html><head><title>{{eventName}}</title></head><body><h1>{{firstName}}</h1>{{qrCode}}</body></html>";

  it("are fetched once, then served from the cache until the TTL has passed", async () => {
    let clock = 1_000_000;
    const fetchCustom = fakeStore({ "tenant-1/custom/3": CUSTOM });
    const registry = new TemplateRegistry({ fetchCustom, cacheTtlMs: 60_000, now: () => clock });
    const ticket = job({ templateId: "custom", templateVersion: 3 });
    const first = await registry.resolve(ticket);
    expect(fetchCustom).toHaveBeenCalledTimes(1);
    expect(fetchCustom).toHaveBeenCalledWith("tenant-1", "custom", 3);
    clock += 60_000;
    expect(await registry.resolve(ticket)).toBe(first);
    expect(await registry.resolve(ticket)).toBe(first);
    expect(fetchCustom).toHaveBeenCalledTimes(1);
    clock += 1;
    const second = await registry.resolve(ticket);
    expect(fetchCustom).toHaveBeenCalledTimes(2);
    expect(second).not.toBe(first);
    const html = await run(second, ticketView(ticket, SVG, NOW));
    expect(html).toContain("<h1>Amélie</h1>");
    expect(html).toContain(SVG);
    expect(html).toContain("<!DOCTYPE html><html><head><title>Nordic Sounds Festival</title>");
  });

  it("concurrent renders of a new template share one fetch", async () => {
    const fetchCustom = fakeStore({ "tenant-1/custom/1": CUSTOM });
    const registry = new TemplateRegistry({ fetchCustom });
    const ticket = job({ templateId: "custom", templateVersion: 1 });
    const templates = await Promise.all(Array.from({ length: 20 }, () => registry.resolve(ticket)));
    expect(new Set(templates).size).toBe(1);
    expect(fetchCustom).toHaveBeenCalledTimes(1);
  });

  it("a new version is fetched anew; tenants do not share entries", async () => {
    const fetchCustom = fakeStore({
      "tenant-1/custom/1": "v1 {{firstName}}",
      "tenant-1/custom/2": "v2 {{firstName}}",
      "tenant-2/custom/1": "other tenant",
    });
    const registry = new TemplateRegistry({ fetchCustom });
    expect(await run(await registry.custom("tenant-1", "custom", 1), { firstName: "A" })).toBe("<!DOCTYPE html>v1 A");
    expect(await run(await registry.custom("tenant-1", "custom", 2), { firstName: "A" })).toBe("<!DOCTYPE html>v2 A");
    expect(await run(await registry.custom("tenant-2", "custom", 1), {})).toBe("<!DOCTYPE html>other tenant");
    expect(await run(await registry.custom("tenant-1", "custom", 1), { firstName: "B" })).toBe("<!DOCTYPE html>v1 B");
    expect(fetchCustom).toHaveBeenCalledTimes(3);
    expect(registry.size).toBe(3);
  });

  it("keeps at most maxEntries templates, dropping the least recently used", async () => {
    const fetchCustom = vi.fn(async (_tenant: string, id: string, version: number) => `${id}@${version}`);
    const registry = new TemplateRegistry({ fetchCustom, maxEntries: 2 });
    await registry.custom("t", "a", 1);
    await registry.custom("t", "b", 1);
    await registry.custom("t", "a", 1); // a is now the most recently used
    await registry.custom("t", "c", 1); // evicts b
    expect(registry.size).toBe(2);
    expect(fetchCustom).toHaveBeenCalledTimes(3);
    await registry.custom("t", "a", 1);
    expect(fetchCustom).toHaveBeenCalledTimes(3);
    await registry.custom("t", "b", 1);
    expect(fetchCustom).toHaveBeenCalledTimes(4);
  });

  it("a missing template is a TemplateNotFoundError naming it, and is not cached", async () => {
    const sources: Record<string, string> = {};
    const fetchCustom = fakeStore(sources);
    const registry = new TemplateRegistry({ fetchCustom });
    const ticket = job({ templateId: "gala", templateVersion: 7 });
    await expect(registry.resolve(ticket)).rejects.toThrow(TemplateNotFoundError);
    await expect(registry.resolve(ticket)).rejects.toThrow("template gala version 7 of tenant tenant-1 not found");
    sources["tenant-1/gala/7"] = "now stored";
    expect(await run(await registry.resolve(ticket), {})).toBe("<!DOCTYPE html>now stored");
    await expect(new TemplateRegistry().custom("t", "x", 1)).rejects.toThrow(TemplateNotFoundError);
    await expect(registry.custom("t", "x", -1)).rejects.toThrow(TemplateNotFoundError);
  });

  it("a failing store is not cached and its error is passed through (the job retries)", async () => {
    const fetchCustom = vi.fn().mockRejectedValueOnce(new Error("redis down")).mockResolvedValueOnce("ok");
    const registry = new TemplateRegistry({ fetchCustom });
    const error = await registry.custom("t", "x", 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("redis down");
    expect(isTemplateError(error)).toBe(false);
    expect(await run(await registry.custom("t", "x", 1), {})).toBe("<!DOCTYPE html>ok");
  });

  it("version 0 (or none) means the built-in template", async () => {
    const fetchCustom = vi.fn();
    const registry = new TemplateRegistry({ fetchCustom });
    const builtIn = await registry.builtIn("fr");
    expect(await registry.resolve(job({ templateId: "custom", templateVersion: 0, locale: "fr" }))).toBe(builtIn);
    expect(await registry.resolve({ tenantId: "t", templateId: "", locale: "fr-CA" })).toBe(builtIn);
    expect(fetchCustom).not.toHaveBeenCalled();
  });
});

describe("compiling tenant templates", () => {
  function handlebarsParseMessage(source: string): string {
    try {
      Handlebars.parse(source);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected a parse error");
  }

  it("rejects an unclosed block up front with Handlebars' own message", () => {
    const source = "{{#if x}}oops";
    let error: unknown;
    try {
      compileTemplate(source);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateCompileError);
    expect(isTemplateError(error)).toBe(true);
    expect((error as Error).message).toBe(handlebarsParseMessage(source));
    expect((error as Error).message).toMatch(/Parse error on line 1/);
  });

  it.each([
    ["{{#if x}}a{{/each}}", /doesn't match/],
    ["{{foo", /Parse error/],
    ["{{> }}", /Parse error/],
  ])("rejects %j", (source, message) => {
    expect(() => compileTemplate(source)).toThrow(TemplateCompileError);
    expect(() => compileTemplate(source)).toThrow(message);
  });

  it("a stored template that does not compile fails its tickets as TemplateCompileError", async () => {
    const registry = new TemplateRegistry({ fetchCustom: async () => "{{#each items}}x" });
    const bad = await registry.custom("t", "bad", 1);
    await expect(run(bad, {})).rejects.toThrow(TemplateCompileError);
    await expect(run(bad, {})).rejects.toThrow(/Expecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'/);
  });

  it("runs isolated: no built-in partials, no prototype access, no logging", () => {
    expect(() => compileTemplate("{{> ticket-styles}}")({})).toThrow("The partial ticket-styles could not be found");
    expect(compileTemplate("[{{constructor.name}}][{{__proto__}}][{{firstName.constructor}}]")({ firstName: "x" })).toBe("[][][]");
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(compileTemplate('{{log "spam" level="error"}}done')({})).toBe("done");
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
    }
    expect(compileTemplate("{{firstName}}")({ firstName: "<b>" })).toBe("&lt;b&gt;");
  });
});

describe("running templates", () => {
  it("a template that throws while rendering fails that ticket alone, as TemplateRenderError", async () => {
    // Only VIP tickets reach the missing partial: a data-dependent runtime failure, in one task.
    const template = tenant("<p>{{firstName}}</p>{{#if vip}}{{> vip-banner}}{{/if}}");
    const [ann, bob, cid] = await sandbox.render(template, [
      { firstName: "Ann", vip: false },
      { firstName: "Bob", vip: true },
      { firstName: "Cid", vip: false },
    ]);
    expect(ann).toBe("<!DOCTYPE html><p>Ann</p>");
    expect(bob).toBeInstanceOf(TemplateRenderError);
    expect((bob as Error).message).toBe("The partial vip-banner could not be found");
    expect(isTemplateError(bob)).toBe(true);
    expect(cid).toBe("<!DOCTYPE html><p>Cid</p>");
    await expect(run(tenant("{{#each}}{{/each}}"), {})).rejects.toThrow(TemplateRenderError);
    await expect(run(tenant("{{#each}}{{/each}}"), {})).rejects.toThrow("Must pass iterator to #each");
  });

  it("adds the doctype a document lacks, after a BOM and not fooled by comments", () => {
    expect(withDoctype('<!DOCTYPE html>\n<html lang="fr"><body>x</body></html>')).toBe(
      '<!DOCTYPE html>\n<html lang="fr"><body>x</body></html>',
    );
    expect(withDoctype("\ufeff <!-- hi --><!doctype html><p>x")).toBe("\ufeff <!-- hi --><!doctype html><p>x");
    expect(withDoctype('<html lang="en"><body>x</body></html>')).toBe('<!DOCTYPE html><html lang="en"><body>x</body></html>');
    expect(withDoctype("\ufeff<p>x</p>")).toBe("\ufeff<!DOCTYPE html><p>x</p>");
    expect(withDoctype("")).toBe("<!DOCTYPE html>");
    expect(withDoctype("<!-- <!doctype html> --><p>x</p>")).toBe("<!DOCTYPE html><!-- <!doctype html> --><p>x</p>");
    expect(withDoctype("<!--><!doctype html>-->")).toBe("<!--><!doctype html>-->");
  });
});

describe("rendered documents in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each([
    ["own doctype", `<!DOCTYPE html><html><head><style>p{}</style></head><body><p>x</p></body></html>`],
    ["no head", '<html lang="fr"><body><p>x</p></body></html>'],
    ["a bare fragment", "<style>p{color:red}</style><p>x</p>"],
    ["a decoy comment", "<!-- <!DOCTYPE html> --><html><head><title>t</title></head><p>x</p>"],
  ])("a tenant document renders in standards mode (%s)", async (_label, template) => {
    const page = await browser.newPage();
    try {
      await page.setContent(await run(tenant(template), {}));
      expect(await page.evaluate(() => document.compatMode)).toBe("CSS1Compat");
    } finally {
      await page.close();
    }
  });

  it("built-in tickets print to a small A4 PDF without loading anything", async () => {
    const registry = new TemplateRegistry();
    const page = await browser.newPage({ javaScriptEnabled: false });
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    try {
      for (const locale of ["en", "fr", "de"]) {
        const ticket = job({ locale, event: { ...job().event, name: "Nordic Sounds Festival 2027 — Opening Night" } });
        const html = await renderBuiltIn(registry, ticket, await qrSvg(TOKEN, { size: 200, margin: 1 }));
        await page.setContent(html, { waitUntil: "load" });
        const pdf = await page.pdf({
          format: "A4",
          printBackground: true,
          margin: { top: "20mm", right: "20mm", bottom: "20mm", left: "20mm" },
        });
        expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
        expect(pdf.length).toBeLessThanOrEqual(40 * 1024);
        expect(pdf.toString("latin1").match(/\/Type\s*\/Page\b/g)).toHaveLength(1);
      }
      expect(requests.filter((url) => !url.startsWith("data:") && url !== "about:blank")).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
