import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { parseEvent, readEventFile } from "../src/input/event-file.ts";

const gala = {
  id: "gala-2027",
  name: "Autumn Gala",
  startsAt: "2027-10-02T19:00:00+02:00",
  endsAt: "2027-10-03T01:00:00Z",
  location: "Salle Pleyel",
  timezone: "Europe/Paris",
  ticketType: { id: "vip", name: "VIP" },
};

const refusal = (value: unknown) => {
  try {
    parseEvent(value, "event.json");
  } catch (error) {
    return (error as Error).message;
  }
  return "accepted";
};

describe("event files", () => {
  it("reads the event, its dates as timestamps, and its ticket type", () => {
    const { event, ticketType } = parseEvent(gala, "event.json");
    expect(event).toMatchObject({ id: "gala-2027", name: "Autumn Gala", location: "Salle Pleyel", timezone: "Europe/Paris" });
    expect(timestampDate(event.startsAt as never).toISOString()).toBe("2027-10-02T17:00:00.000Z");
    expect(timestampDate(event.endsAt as never).toISOString()).toBe("2027-10-03T01:00:00.000Z");
    expect(ticketType).toEqual({ id: "vip", name: "VIP" });
  });

  it("leaves out what is optional, and accepts snake_case keys", () => {
    const { event, ticketType } = parseEvent({ id: "e", name: "E", starts_at: "2027-10-02T19:00Z", timezone: "UTC" }, "event.json");
    expect(event.endsAt).toBeUndefined();
    expect(event.location).toBe("");
    expect(timestampDate(event.startsAt as never).toISOString()).toBe("2027-10-02T19:00:00.000Z");
    expect(ticketType).toBeUndefined();
  });

  it("names the field that is missing or malformed", () => {
    expect(refusal([gala])).toBe("event.json: the file must be a JSON object, got an array");
    expect(refusal({ ...gala, name: "" })).toBe("event.json: name is required");
    expect(refusal({ ...gala, id: undefined })).toBe("event.json: id is required");
    expect(refusal({ ...gala, timezone: true })).toBe("event.json: timezone must be a string, got a boolean");
    expect(refusal({ ...gala, location: { city: "Paris" } })).toBe("event.json: location must be a string, got an object");
    expect(refusal({ ...gala, startsAt: "2027-10-02 19:00" })).toBe(
      'event.json: startsAt: "2027-10-02 19:00" is not an ISO 8601 date-time with an offset, such as 2027-10-02T19:00:00+02:00',
    );
    // Without an offset the operator's own time zone would be used silently.
    expect(refusal({ ...gala, endsAt: "2027-10-03T01:00:00" })).toMatch(/^event\.json: endsAt: /);
    expect(refusal({ ...gala, ticketType: { id: "vip" } })).toBe("event.json: ticketType.name is required");
    expect(refusal({ ...gala, ticketType: "vip" })).toBe("event.json: ticketType must be a JSON object, got a string");
  });

  it("names the line of a JSON syntax error", () => {
    const file = join(mkdtempSync(join(tmpdir(), "ticketgen-cli-event-")), "event.json");
    writeFileSync(file, '{\n  "id": "gala-2027",\n  "name": "Autumn Gala"\n  "timezone": "UTC"\n}\n');
    expect(() => readEventFile(file)).toThrow(`${file}:4: invalid JSON: expected ',' or '}' after property value`);
  });
});
