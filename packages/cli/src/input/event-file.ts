import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { EventInfoSchema, TicketTypeInfoSchema } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import { CliError } from "../errors.ts";
import { kindOf, normalizeKey, readJsonFile, stringField } from "./files.ts";

export type EventInit = MessageInitShape<typeof EventInfoSchema>;
export type TicketType = MessageInitShape<typeof TicketTypeInfoSchema>;

export interface EventFile {
  event: EventInit;
  /** The event's default ticket type, when the file names one. */
  ticketType?: TicketType;
}

// A date-time without an offset would silently mean the operator's own time zone.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Reads an event: `{ id, name, startsAt, endsAt?, location?, timezone, ticketType?: { id, name } }`,
 * dates in ISO 8601 with an offset. Only the shape is checked here; the server judges the
 * values (time zone, date range) and names the field when one is wrong.
 */
export function readEventFile(file: string): EventFile {
  return parseEvent(readJsonFile(file), file);
}

export function parseEvent(value: unknown, file: string): EventFile {
  const fail = (message: string) => new CliError(`${file}: ${message}`);
  const object = asObject(value, "the file", fail);
  const text = (key: string, required: boolean) => {
    const { value, error } = stringField(object, key);
    if (error) throw fail(`${key} ${error}`);
    if (required && !value) throw fail(`${key} is required`);
    return value ?? "";
  };
  const time = (key: string, required: boolean) => {
    const value = text(key, required);
    if (value === "") return undefined;
    if (!ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
      throw fail(`${key}: "${value}" is not an ISO 8601 date-time with an offset, such as 2027-10-02T19:00:00+02:00`);
    }
    return timestampFromDate(new Date(value));
  };
  const event: EventInit = {
    id: text("id", true),
    name: text("name", true),
    startsAt: time("startsAt", true),
    endsAt: time("endsAt", false),
    location: text("location", false),
    timezone: text("timezone", true),
  };
  const typeEntry = Object.entries(object).find(([key]) => normalizeKey(key) === "tickettype");
  if (typeEntry === undefined || typeEntry[1] === null) return { event };
  const type = asObject(typeEntry[1], "ticketType", fail);
  const typeText = (key: string) => {
    const { value, error } = stringField(type, key);
    if (error || !value) throw fail(`ticketType.${key} ${error ?? "is required"}`);
    return value;
  };
  return { event, ticketType: { id: typeText("id"), name: typeText("name") } };
}

function asObject(value: unknown, what: string, fail: (message: string) => CliError): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw fail(`${what} must be a JSON object, got ${kindOf(value)}`);
  return value as Record<string, unknown>;
}
