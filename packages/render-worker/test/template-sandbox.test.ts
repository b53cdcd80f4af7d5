import { afterEach, describe, expect, it } from "vitest";
import {
  TemplateCompileError,
  TemplateLimitError,
  TemplateRegistry,
  TemplateSandbox,
  formatBytes,
  type TemplateSandboxOptions,
  type TemplateView,
} from "../src/templates/index.ts";

const sandboxes: TemplateSandbox[] = [];
afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.close();
});

function sandbox(options: Partial<TemplateSandboxOptions> = {}): TemplateSandbox {
  const created = new TemplateSandbox({ threads: 2, timeoutMs: 2000, maxOutputBytes: 2 * 1024 * 1024, maxMemoryMb: 64, ...options });
  sandboxes.push(created);
  return created;
}

const tenant = (source: string) => new TemplateRegistry().inline(source);

/** A ticket view's shape: twenty-odd fields, which `{{#each @root}}` walks. */
const VIEW: TemplateView = Object.fromEntries([
  ...["eventName", "eventDate", "eventDay", "eventTime", "location", "timezone", "firstName", "lastName", "guestName", "email"].map((k) => [
    k,
    k,
  ]),
  ...["ticketType", "ticketCode", "generatedAt", "locale", "lang", "eventStartTime", "eventEndTime", "eventEndDate", "timeZoneName"].map(
    (k) => [k, k],
  ),
  ["qrCode", "<svg></svg>"],
  ["eventEndsOnOtherDay", false],
]);
const guest = (firstName: string): TemplateView => ({ ...VIEW, firstName });

/** `{{#each @root}}` nested `depth` deep: 21^depth iterations, none of which the static check sees. */
const eachBomb = (depth: number, body = "") => `${"{{#each @root}}".repeat(depth)}${body}${"{{/each}}".repeat(depth)}`;
const NORMAL = tenant("<h1>{{firstName}}</h1>{{qrCode}}");

async function single(s: TemplateSandbox, source: string, view: TemplateView = VIEW): Promise<string | Error> {
  const [outcome] = await s.render(tenant(source), [view]);
  return outcome!;
}

describe("TemplateSandbox", () => {
  it("renders tickets off the event loop: HTML with the QR markup unescaped and guest data escaped", async () => {
    const s = sandbox();
    expect(await s.render(NORMAL, [guest("Ada"), guest("<b>")])).toEqual([
      "<!DOCTYPE html><h1>Ada</h1><svg></svg>",
      "<!DOCTYPE html><h1>&lt;b&gt;</h1><svg></svg>",
    ]);
  });

  it("fails a ticket whose template runs past the time limit, then renders the next on a fresh thread", async () => {
    const s = sandbox({ threads: 1 });
    const outcome = await single(s, eachBomb(8));
    expect(outcome).toBeInstanceOf(TemplateLimitError);
    expect((outcome as Error).message).toBe("template exceeded the 2000 ms time limit");
    expect(await s.render(NORMAL, [guest("Ada")])).toEqual(["<!DOCTYPE html><h1>Ada</h1><svg></svg>"]);
  });

  it("keeps rendering other tickets while a bomb holds one thread", async () => {
    const s = sandbox({ threads: 2 });
    // Both threads up first: the test is about a running bomb, not about a thread starting.
    await Promise.all([s.render(NORMAL, [VIEW]), s.render(NORMAL, [VIEW])]);
    let bombSettled = false;
    const bomb = s.render(tenant(eachBomb(8)), [VIEW]).finally(() => (bombSettled = true));
    const others = [];
    for (let i = 0; i < 5; i++) others.push(...(await s.render(NORMAL, [guest(`Guest ${i}`)])));
    expect(bombSettled).toBe(false);
    expect(others).toEqual([0, 1, 2, 3, 4].map((i) => `<!DOCTYPE html><h1>Guest ${i}</h1><svg></svg>`));
    expect(((await bomb)[0] as Error).message).toBe("template exceeded the 2000 ms time limit");
  });

  it("fails a ticket whose output exceeds the cap, as soon as a partial or #each returns more", async () => {
    const s = sandbox({ maxOutputBytes: 64 * 1024 });
    const wide = await single(s, eachBomb(6, "xxxxxxxxxx"));
    expect(wide).toBeInstanceOf(TemplateLimitError);
    expect((wide as Error).message).toBe("template output exceeds 64 KB");
    // A dynamic partial (the static check cannot follow it) that doubles its text 20 times.
    const doubling = `{{#*inline "p0"}}xxxxxxxxxx{{/inline}}${Array.from({ length: 20 }, (_, i) => `{{#*inline "p${i + 1}"}}{{> (lookup @root "p${i}")}}{{> (lookup @root "p${i}")}}{{/inline}}`).join("")}{{> p20}}`;
    const names = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`p${i}`, `p${i}`]));
    expect(((await single(s, doubling, { ...VIEW, ...names })) as Error).message).toBe("template output exceeds 64 KB");
    // Multi-byte text counts in UTF-8 bytes: 30,000 × "é" is 60,000 bytes, 90,000 is over.
    expect(await single(s, `{{#each @root}}${"é".repeat(1400)}{{/each}}`)).toMatch(/^<!DOCTYPE html>é+$/);
    expect(((await single(s, `{{#each @root}}${"é".repeat(2200)}{{/each}}`)) as Error).message).toBe("template output exceeds 64 KB");
  });

  it("fails a ticket whose template exceeds the thread's heap; the worker lives on and renders the next", async () => {
    const s = sandbox({ threads: 1, maxMemoryMb: 16, maxOutputBytes: 256 * 1024 * 1024, timeoutMs: 60_000 });
    const outcome = await single(s, eachBomb(7, "xxxxxxxxxx"));
    expect(outcome).toBeInstanceOf(TemplateLimitError);
    expect((outcome as Error).message).toBe("template exceeded the 16 MB memory limit");
    expect(await s.render(NORMAL, [guest("Ada")])).toEqual(["<!DOCTYPE html><h1>Ada</h1><svg></svg>"]);
  });

  it("a chunk: the ticket past a limit fails, the ones before it render, the ones after fail without being tried", async () => {
    const s = sandbox();
    // Only Bob's partial is a bomb: a data-dependent one, which only running it reveals.
    const template = tenant(
      `{{#*inline "Bob"}}${eachBomb(8)}{{/inline}}{{#*inline "Ada"}}<p>Ada</p>{{/inline}}{{> (lookup . "firstName")}}`,
    );
    const outcomes = await s.render(template, [guest("Ada"), guest("Ada"), guest("Bob"), guest("Ada")]);
    expect(outcomes.slice(0, 2)).toEqual(["<!DOCTYPE html><p>Ada</p>", "<!DOCTYPE html><p>Ada</p>"]);
    expect(outcomes.slice(2).map((o) => [(o as Error).name, (o as Error).message])).toEqual([
      ["TemplateLimitError", "template exceeded the 2000 ms time limit"],
      ["TemplateLimitError", "template exceeded the 2000 ms time limit on another ticket of this batch chunk; not tried again"],
    ]);
  });

  it("refuses a stored template bomb that predates PutTemplate's check when it compiles, naming the partial", async () => {
    const levels = "abcdefghij";
    let bomb = `{{#*inline "a"}}xxxxxxxxxx{{/inline}}`;
    for (let i = 1; i < levels.length; i++) bomb += `{{#*inline "${levels[i]}"}}${`{{>${levels[i - 1]}}}`.repeat(10)}{{/inline}}`;
    const outcome = await single(sandbox(), `${bomb}{{>j}}`);
    expect(outcome).toBeInstanceOf(TemplateCompileError);
    expect((outcome as Error).message).toMatch(/^partial "f" expands to more than 1000000 characters of template/);
  });

  it("reports a recursion that escapes the static check as that ticket's error", async () => {
    const outcome = await single(sandbox(), '{{#*inline "a"}}{{> (lookup . "next")}}{{/inline}}{{> a}}', { ...VIEW, next: "a" });
    expect((outcome as Error).message).toBe("Maximum call stack size exceeded");
  });

  it("words limits as an operator set them", () => {
    expect([formatBytes(2 * 1024 * 1024), formatBytes(64 * 1024), formatBytes(1000)]).toEqual(["2 MB", "64 KB", "1000 bytes"]);
  });
});
