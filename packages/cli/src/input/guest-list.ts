import { extname } from "node:path";
import { CsvError, parse } from "csv-parse/sync";
import { CliError } from "../errors.ts";
import { kindOf, normalizeKey, readInputFile, readJsonFile, stringField } from "./files.ts";

/** A guest as CreateTicket and CreateBatch take it (GuestInfo). */
export interface Guest {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
}

const FIELDS = ["id", "firstName", "lastName", "email"] as const;
type Field = (typeof FIELDS)[number];
/** The server requires these; last_name may be empty. */
const REQUIRED: readonly Field[] = ["id", "firstName", "email"];
/** Column names in CSV messages, as the header is documented. */
const COLUMN: Record<Field, string> = { id: "id", firstName: "first_name", lastName: "last_name", email: "email" };

const missingField = (guest: Guest) => REQUIRED.find((field) => guest[field] === "");

export interface GuestList {
  guests: Guest[];
  /** Where each guest was read, for messages about it: `guests.csv:3` or `guests.json: [2]`. */
  sources: string[];
}

/** A guest list: `.json` files hold an array of guests, anything else is CSV with a header row. */
export function readGuestList(file: string): GuestList {
  return extname(file).toLowerCase() === ".json" ? parseGuestJson(readJsonFile(file), file) : parseGuestCsv(readInputFile(file), file);
}

/** One guest from a JSON object file, for `ticket create --guest`. */
export function readGuest(file: string): Guest {
  const value = readJsonFile(file);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CliError(`${file}: must be a JSON object with id, firstName, lastName and email, got ${kindOf(value)}`);
  return guestFromObject(value as Record<string, unknown>, (message) => new CliError(`${file}: ${message}`));
}

export function parseGuestJson(value: unknown, file: string): GuestList {
  if (!Array.isArray(value)) throw new CliError(`${file}: must be a JSON array of guests, got ${kindOf(value)}`);
  if (value.length === 0) throw new CliError(`${file}: the guest list is empty`);
  const sources = value.map((_, index) => `${file}: [${index}]`);
  const guests = value.map((entry: unknown, index) => {
    const fail = (message: string) => new CliError(`${sources[index]}: ${message}`);
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw fail(`must be an object, got ${kindOf(entry)}`);
    return guestFromObject(entry as Record<string, unknown>, fail);
  });
  return { guests, sources };
}

function guestFromObject(object: Record<string, unknown>, fail: (message: string) => CliError): Guest {
  const guest: Guest = { id: "", firstName: "", lastName: "", email: "" };
  for (const field of FIELDS) {
    const { value, error } = stringField(object, field);
    if (error) throw fail(`${field} ${error}`);
    guest[field] = value ?? "";
  }
  const missing = missingField(guest);
  if (missing) throw fail(`${missing} is required`);
  return guest;
}

/**
 * Parses a CSV guest list: UTF-8 with or without BOM, LF or CRLF, comma or semicolon (what
 * spreadsheets in comma-decimal locales export), RFC 4180 quoting. Columns are found by name,
 * in any order and spelling (`first_name`, `firstName`, `First Name`); others are ignored.
 */
export function parseGuestCsv(data: Buffer, file: string): GuestList {
  const lines = lineTracker(data);
  // Byte offset where each parsed record ends: the next record starts after it.
  const ends: number[] = [];
  let width = 0;
  let records: string[][];
  try {
    records = parse(data, {
      bom: true,
      delimiter: detectDelimiter(data),
      trim: true,
      skip_empty_lines: true,
      on_record: (record: string[], { bytes }) => {
        if (ends.length === 0) width = record.length;
        ends.push(bytes);
        return record;
      },
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw new CliError(`${file}:${lines.startingAfter(ends.at(-1) ?? 0)}: ${csvProblem(error, width)}`);
  }
  const [header, ...rows] = records;
  if (!header) throw new CliError(`${file}: the file is empty; expected a header row naming id, first_name, last_name and email`);
  const columns = headerColumns(header, (message) => new CliError(`${file}:${lines.startingAfter(0)}: ${message}`));

  const guests: Guest[] = [];
  const sources: string[] = [];
  rows.forEach((row, index) => {
    if (row.every((cell) => cell === "")) return; // a spreadsheet's blank row: ;;;
    const line = lines.startingAfter(ends[index] ?? 0);
    // Excel's plain "CSV" is Windows-1252: decoded as UTF-8 its accents become U+FFFD.
    if (row.some((cell) => cell.includes("\uFFFD"))) throw new CliError(`${file}:${line}: not UTF-8 text; save the file as "CSV UTF-8"`);
    const guest: Guest = { id: "", firstName: "", lastName: "", email: "" };
    for (const field of FIELDS) guest[field] = columns[field] === undefined ? "" : (row[columns[field]] ?? "");
    const missing = missingField(guest);
    if (missing) throw new CliError(`${file}:${line}: ${COLUMN[missing]} is empty`);
    guests.push(guest);
    sources.push(`${file}:${line}`);
  });
  if (guests.length === 0) throw new CliError(`${file}: no guests after the header row`);
  return { guests, sources };
}

/** Column index of each guest field, by header name. */
function headerColumns(header: string[], fail: (message: string) => CliError): Partial<Record<Field, number>> {
  const byKey = new Map<string, Field>(FIELDS.map((field) => [normalizeKey(field), field]));
  const columns: Partial<Record<Field, number>> = {};
  header.forEach((name, index) => {
    const field = byKey.get(normalizeKey(name));
    if (field === undefined) return;
    if (columns[field] !== undefined) throw fail(`column ${COLUMN[field]} appears twice`);
    columns[field] = index;
  });
  const missing = REQUIRED.filter((field) => columns[field] === undefined).map((field) => COLUMN[field]);
  if (missing.length > 0)
    throw fail(
      `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (the header row must name id, first_name, last_name and email)`,
    );
  return columns;
}

/**
 * `;` when the header row has more semicolons than commas, else `,`. csv-parse's own
 * `delimiter_auto` also weighs spaces and dots (every e-mail address has one) and throws on
 * non-ASCII text, so the header decides.
 */
export function detectDelimiter(data: Buffer): "," | ";" {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (const char of data.toString("utf8", 0, Math.min(data.length, 65_536))) {
    if (char === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (char === "\n" || char === "\r") break;
    else if (char === ",") commas++;
    else if (char === ";") semicolons++;
  }
  return semicolons > commas ? ";" : ",";
}

function csvProblem(error: CsvError, headerWidth: number): string {
  switch (error.code) {
    case "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH":
      return `found ${(error.record as unknown[]).length} fields where the header row has ${headerWidth}`;
    case "CSV_QUOTE_NOT_CLOSED":
      return "a quoted field is never closed";
    case "INVALID_OPENING_QUOTE":
    case "CSV_INVALID_CLOSING_QUOTE":
      return 'misplaced quote: put the whole field in quotes and double the quotes inside it ("")';
    default:
      // csv-parse counts a CRLF inside a quoted field as two lines: its line number is dropped.
      return error.message.replace(/ (at|on) line \d+/, "");
  }
}

/** Maps byte offsets, asked in increasing order, to 1-based line numbers. */
function lineTracker(data: Buffer) {
  let offset = 0;
  let line = 1;
  return {
    /** The line where the record after `end` starts (csv-parse skipped the blank lines before it). */
    startingAfter(end: number): number {
      let start = end;
      while (data[start] === 0x0a || data[start] === 0x0d) start++;
      if (start < offset) [offset, line] = [0, 1];
      for (; offset < start; offset++) if (data[offset] === 0x0a) line++;
      return line;
    },
  };
}
