import { readFileSync } from "node:fs";
import { CliError, fileProblem } from "../errors.ts";

/** A file's bytes, or a CliError naming the file and what is wrong with it. */
export function readInputFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliError(`${file}: ${fileProblem(error)}`);
  }
}

/** 1-based line of a character offset in `text`. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Parses a JSON file (a leading BOM is allowed); a syntax error names the file and, when V8
 * gives the character position ("… in JSON at position 41"), the line.
 */
export function readJsonFile(file: string): unknown {
  return parseJson(readInputFile(file), file);
}

/** The JSON value in a file's bytes, or a CliError naming `file` (and the line) and what is wrong. */
export function parseJson(data: Buffer, file: string): unknown {
  const text = data.toString("utf8").replace(/^\uFEFF/, "");
  if (text.trim() === "") throw new CliError(`${file}: the file is empty`);
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const line = position === undefined ? "" : `:${lineOf(text, Number(position))}`;
    // V8 quotes the whole input in some messages ("…, "{…}" is not valid JSON"): keep the reason only.
    const reason = message.replace(/\s*in JSON at position.*$/s, "").replace(/, ".*" is not valid JSON$/s, "");
    throw new CliError(`${file}${line}: invalid JSON: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`);
  }
}

/** A JSON value's kind in words, for "must be an object, got an array" messages. */
export const kindOf = (value: unknown) =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`;

/**
 * Field names as people write them in spreadsheets and JSON: `first_name`, `firstName`,
 * `First Name` and `FIRST-NAME` are the same column.
 */
export const normalizeKey = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, "");

/** The value of `key` in a JSON object whatever its spelling, as a string (numbers allowed for ids). */
export function stringField(object: Record<string, unknown>, key: string): { value?: string; error?: string } {
  const entry = Object.entries(object).find(([name]) => normalizeKey(name) === normalizeKey(key));
  if (entry?.[1] === undefined || entry[1] === null) return {};
  const value = entry[1];
  if (typeof value === "string") return { value: value.trim() };
  if (typeof value === "number") return { value: String(value) };
  return { error: `must be a string, got ${kindOf(value)}` };
}
