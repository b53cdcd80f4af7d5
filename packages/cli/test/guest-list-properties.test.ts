import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CliError } from "../src/errors.ts";
import { parseJson } from "../src/input/files.ts";
import { parseGuestCsv, parseGuestJson, type Guest } from "../src/input/guest-list.ts";
import { anyText, properties } from "../../shared/test/support/properties.ts";

/**
 * Property tests of the guest-list parsers. Contract: parseGuestCsv(bytes) and
 * parseGuestJson(parseJson(bytes)) return at least one guest whose id, first name and e-mail are
 * not empty, or throw a CliError (a message for the user naming the file); nothing else.
 */

const FILE = "guests";

/** The guests, or the CliError's message; any other throw fails the property. */
function outcome(parse: () => Guest[]): Guest[] | string {
  try {
    const guests = parse();
    expect(guests.length).toBeGreaterThan(0);
    for (const guest of guests) for (const field of ["id", "firstName", "email"] as const) expect(guest[field]).not.toBe("");
    return guests;
  } catch (error) {
    if (error instanceof CliError) {
      expect(error.message.startsWith(`${FILE}`)).toBe(true);
      return error.message;
    }
    throw error;
  }
}
const csv = (bytes: Uint8Array) => outcome(() => parseGuestCsv(Buffer.from(bytes), FILE).guests);
const json = (bytes: Uint8Array) => outcome(() => parseGuestJson(parseJson(Buffer.from(bytes), FILE), FILE).guests);

// A value as a spreadsheet holds it: any Unicode text without surrounding white space (both
// parsers trim) and without U+FFFD (the CSV parser's sign of a file that is not UTF-8).
const value = (minLength: number) =>
  fc
    .oneof(
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.string({ unit: fc.constantFrom(..."aé ,;\"'\r\n\t#=-"), maxLength: 12 }),
      fc.constantFrom("Zoé", "李雷", "O'Brien", "=SUM(A1)"),
    )
    .map((text) => text.trim())
    .filter((text) => text.length >= minLength && !text.includes("\uFFFD"));
const guest = fc.record({ id: value(1), firstName: value(1), lastName: value(0), email: value(1) });
const guests = fc.array(guest, { minLength: 1, maxLength: 12 });

const SPELLINGS: Record<keyof Guest, string[]> = {
  id: ["id", "ID", "Id"],
  firstName: ["first_name", "firstName", "First Name", "FIRST-NAME"],
  lastName: ["last_name", "lastName", "Last Name"],
  email: ["email", "E-mail", "EMAIL", "e_mail"],
};
const FIELDS = Object.keys(SPELLINGS) as Array<keyof Guest>;

/** How a user's tool writes the file: separator, quoting, line ends, BOM, header spelling, order, extra columns. */
const csvStyle = fc.record({
  delimiter: fc.constantFrom(",", ";"),
  eol: fc.constantFrom("\n", "\r\n"),
  bom: fc.boolean(),
  quoteAll: fc.boolean(),
  pad: fc.boolean(),
  trailingEol: fc.boolean(),
  blankLines: fc.boolean(),
  spelling: fc.record(
    Object.fromEntries(FIELDS.map((field) => [field, fc.constantFrom(...SPELLINGS[field])])) as Record<keyof Guest, fc.Arbitrary<string>>,
  ),
  order: fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 6, maxLength: 6 }),
  extras: fc.integer({ min: 0, max: 2 }),
  dropLastName: fc.boolean(),
});

type CsvStyle = typeof csvStyle extends fc.Arbitrary<infer T> ? T : never;

function writeCsv(list: Guest[], style: CsvStyle, extraValues: string[]): string {
  const { delimiter, eol } = style;
  // RFC 4180: a field holding the separator, a quote or a line break is quoted, quotes doubled.
  const field = (text: string) => {
    const mustQuote = text.includes(delimiter) || /["\r\n]/.test(text);
    const pad = style.pad ? " " : "";
    return pad + (style.quoteAll || mustQuote ? `"${text.replaceAll('"', '""')}"` : text) + pad;
  };
  const fields = FIELDS.filter((f) => !(style.dropLastName && f === "lastName" && list.every((g) => g.lastName === "")));
  const columns = [
    ...fields.map((f) => ({ name: style.spelling[f], of: (g: Guest) => g[f] })),
    ...["table", "notes"]
      .slice(0, style.extras)
      .map((name, i) => ({ name, of: (_g: Guest, row: number) => extraValues[(row + i) % extraValues.length]! })),
  ];
  const ordered = style.order.filter((i) => i < columns.length).map((i) => columns[i]!);
  const lines = [
    ordered.map((c) => field(c.name)).join(delimiter),
    ...list.map((g, row) => ordered.map((c) => field(c.of(g, row))).join(delimiter)),
  ];
  const text = lines.join(style.blankLines ? eol + eol : eol) + (style.trailingEol ? eol : "");
  return (style.bom ? "\uFEFF" : "") + text;
}

const KEY_SPELLINGS: Record<keyof Guest, string[]> = {
  id: ["id", "ID"],
  firstName: ["firstName", "first_name", "First Name"],
  lastName: ["lastName", "last_name", "Last Name"],
  email: ["email", "Email", "e-mail"],
};

const jsonStyle = fc.record({
  indent: fc.constantFrom(0, 2, 4, "\t"),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  pad: fc.boolean(),
  numericIds: fc.boolean(),
  nullLastNames: fc.boolean(),
  spelling: fc.record(
    Object.fromEntries(FIELDS.map((field) => [field, fc.constantFrom(...KEY_SPELLINGS[field])])) as Record<
      keyof Guest,
      fc.Arbitrary<string>
    >,
  ),
  extra: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
});

describe("CSV guest lists (property)", () => {
  it("round-trip: guests written as a spreadsheet or a person writes CSV parse back to the same guests", () => {
    fc.assert(
      fc.property(guests, csvStyle, fc.array(value(0), { minLength: 1, maxLength: 3 }), (list, style, extraValues) => {
        const text = writeCsv(list, style, extraValues);
        expect(csv(Buffer.from(text, "utf8")), text).toEqual(list);
      }),
      properties(1500),
    );
  });

  it("never throws anything but a CliError, on any bytes, CSV-like text, invalid UTF-8 and huge input", () => {
    const csvLike = fc
      .array(fc.array(anyText('abc,;"\r\n\t id first_name email\uFEFF', 20), { maxLength: 6 }), { maxLength: 8 })
      .map((rows) => rows.map((row) => row.join(",")).join("\n"));
    const withHeader = fc
      .tuple(fc.constantFrom("id,first_name,email\n", "id;first_name;last_name;email\r\n", '"id","first_name","email"\n'), csvLike)
      .map(([h, b]) => h + b);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.oneof(csvLike, withHeader).map((text) => Buffer.from(text, "utf8")),
        ),
        (bytes) => {
          csv(bytes);
        },
      ),
      properties(4000),
    );
    const header = "id,first_name,last_name,email\n";
    const wide = "A".repeat(1 << 20);
    expect(csv(Buffer.alloc(1 << 19, "a"))).toMatch(/^guests:1: missing columns id, first_name, email /);
    expect(csv(Buffer.from(`${header}g-1,${wide},x,a@b.c\n`))).toEqual([{ id: "g-1", firstName: wide, lastName: "x", email: "a@b.c" }]);
    expect(csv(Buffer.from(`${header}${"g,A,B,a@b.c\n".repeat(20_000)}`))).toHaveLength(20_000);
    expect(csv(Buffer.from(`${header}"${"x".repeat(1 << 20)}`))).toBe("guests:2: a quoted field is never closed");
    expect(csv(Buffer.concat([Buffer.from(header), Buffer.alloc(1 << 20, 0xff)]))).toBe(
      "guests:2: found 1 fields where the header row has 4",
    );
  });
});

describe("JSON guest lists (property)", () => {
  it("round-trip: guests written as JSON (any key spelling, indentation, CRLF, BOM, extra keys) parse back", () => {
    fc.assert(
      fc.property(guests, jsonStyle, (list, style) => {
        const entries = list.map((g) => {
          const entry: Record<string, unknown> = {};
          for (const field of FIELDS) {
            let v: unknown = style.pad ? ` ${g[field]}\t` : g[field];
            if (field === "id" && style.numericIds && String(Number(g.id)) === g.id) v = Number(g.id);
            if (field === "lastName" && style.nullLastNames && g.lastName === "") v = null;
            entry[style.spelling[field]] = v;
          }
          if (style.extra !== undefined) entry.table = style.extra;
          return entry;
        });
        let text = JSON.stringify(entries, null, style.indent);
        if (style.crlf) text = text.replaceAll("\n", "\r\n");
        expect(json(Buffer.from((style.bom ? "\uFEFF" : "") + text, "utf8")), text).toEqual(list);
      }),
      properties(1500),
    );
  });

  it("never throws anything but a CliError, on any bytes, any JSON value, invalid UTF-8 and huge input", () => {
    const guestish = fc.dictionary(
      fc.constantFrom("id", "first_name", "firstName", "email", "lastName", "__proto__", "constructor"),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const values = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.oneof(guestish, fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 }));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          values.map((v) => Buffer.from(JSON.stringify(v) ?? "", "utf8")),
          anyText('[]{}",:0-9 ', 100).map((t) => Buffer.from(t, "utf8")),
        ),
        (bytes) => {
          json(bytes);
        },
      ),
      properties(4000),
    );
    expect(json(Buffer.from("[".repeat(1 << 20)))).toBe("guests: invalid JSON: unexpected end of JSON input");
    expect(json(Buffer.from(`${"[".repeat(200_000)}${"]".repeat(200_000)}`))).toBe("guests: [0]: must be an object, got an array");
    const wide = "A".repeat(1 << 20);
    expect(json(Buffer.from(JSON.stringify([{ id: "g", firstName: wide, email: "a@b.c" }])))).toEqual([
      { id: "g", firstName: wide, lastName: "", email: "a@b.c" },
    ]);
    expect(
      json(Buffer.from(JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ id: i, firstName: "A", email: "a@b.c" }))))),
    ).toHaveLength(20_000);
    expect(json(Buffer.alloc(1 << 20, 0xff))).toMatch(/^guests: invalid JSON: unexpected token/);
  });
});
