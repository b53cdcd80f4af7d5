import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectDelimiter, parseGuestCsv, parseGuestJson, readGuest, readGuestList } from "../src/input/guest-list.ts";

const csv = (text: string) => parseGuestCsv(Buffer.from(text), "guests.csv").guests;
const csvError = (text: string | Buffer) => {
  try {
    parseGuestCsv(Buffer.isBuffer(text) ? text : Buffer.from(text), "guests.csv");
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the guest list to be refused");
};

const ada = { id: "g-1", firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" };

describe("CSV guest lists", () => {
  it("reads a header row and one guest per row", () => {
    expect(csv("id,first_name,last_name,email\ng-1,Ada,Lovelace,ada@example.com\ng-2,Alan,Turing,alan@example.com\n")).toEqual([
      ada,
      { id: "g-2", firstName: "Alan", lastName: "Turing", email: "alan@example.com" },
    ]);
  });

  it("handles a BOM, CRLF line ends, quoted fields with commas, doubled quotes and line breaks", () => {
    const text =
      '\uFEFFid,first_name,last_name,email\r\n"g-1","Ada","Lovelace, Countess","ada@example.com"\r\ng-2,"Grace ""Amazing""","Hop\r\nper",grace@example.com\r\n';
    expect(csv(text)).toEqual([
      { id: "g-1", firstName: "Ada", lastName: "Lovelace, Countess", email: "ada@example.com" },
      { id: "g-2", firstName: 'Grace "Amazing"', lastName: "Hop\r\nper", email: "grace@example.com" },
    ]);
  });

  it("detects semicolons, as spreadsheets of comma-decimal locales export, keeping commas inside fields", () => {
    expect(csv("id;firstName;lastName;email\ng-1;Zoé;Dupont, Jr;zoe@example.fr\n")).toEqual([
      { id: "g-1", firstName: "Zoé", lastName: "Dupont, Jr", email: "zoe@example.fr" },
    ]);
    expect(detectDelimiter(Buffer.from('"a;b",c,d\n1;2;3;4;5\n'))).toBe(",");
    expect(detectDelimiter(Buffer.from("id;first_name;last_name;email\n"))).toBe(";");
  });

  it("finds columns by name in any order and spelling, ignores other columns and trims values", () => {
    expect(csv("E-mail, Last Name ,table,First Name,ID\n ada@example.com , Lovelace ,7,Ada,g-1\n")).toEqual([ada]);
  });

  it("accepts a list without a last_name column", () => {
    expect(csv("id,first_name,email\ng-1,Ada,ada@example.com\n")).toEqual([{ ...ada, lastName: "" }]);
  });

  it("skips blank lines and a spreadsheet's empty rows, and still counts lines right", () => {
    const text = "id;first_name;last_name;email\n\ng-1;Ada;Lovelace;ada@example.com\n;;;\n\ng-2;Alan;Turing;\n";
    expect(csvError(text)).toBe("guests.csv:6: email is empty");
    expect(csv(text.replace("Turing;", "Turing;alan@example.com"))).toHaveLength(2);
  });

  it("records the line each guest was read from, past quoted line breaks, blank lines and empty rows", () => {
    const text =
      'id;first_name;last_name;email\r\n\r\ng-1;Ada;"Love\r\nlace";ada@example.com\r\n;;;\r\n\r\ng-2;Alan;Turing;alan@example.com\r\n';
    expect(parseGuestCsv(Buffer.from(text), "guests.csv").sources).toEqual(["guests.csv:3", "guests.csv:7"]);
  });

  it("names the file and the line of a bad row", () => {
    const header = "id,first_name,last_name,email\r\n";
    expect(csvError(`${header}g-1,Ada,Lovelace,ada@example.com\r\n,Alan,Turing,alan@example.com\r\n`)).toBe("guests.csv:3: id is empty");
    expect(csvError(`${header}g-1,,Lovelace,ada@example.com\r\n`)).toBe("guests.csv:2: first_name is empty");
    // The line is where the record starts, after a quoted field spanning two CRLF lines.
    expect(csvError(`${header}g-1,"Ada\r\nB",Lovelace,ada@example.com\r\ng-2,Alan,Turing,alan@example.com,extra\r\n`)).toBe(
      "guests.csv:4: found 5 fields where the header row has 4",
    );
    expect(csvError(`${header}g-1,Ada,Lovelace,ada@example.com\r\ng-2,"Alan,Turing,alan@example.com\r\ng-3,X,Y,z@example.com\r\n`)).toBe(
      "guests.csv:3: a quoted field is never closed",
    );
    expect(csvError(`${header}g-1,Ada,"Love"lace,ada@example.com\r\n`)).toMatch(/^guests\.csv:2: misplaced quote/);
  });

  it("names missing or repeated columns on line 1", () => {
    expect(csvError("id,first_name,last_name\ng-1,Ada,Lovelace\n")).toBe(
      "guests.csv:1: missing column email (the header row must name id, first_name, last_name and email)",
    );
    expect(csvError("id,name,mail\n1,a,b\n")).toMatch(/^guests\.csv:1: missing columns first_name, email /);
    expect(csvError("id,first_name,firstName,email\n1,a,b,c\n")).toBe("guests.csv:1: column first_name appears twice");
  });

  it("refuses an empty file, a header without rows, and text that is not UTF-8", () => {
    expect(csvError("")).toMatch(/^guests\.csv: the file is empty/);
    expect(csvError("\uFEFFid,first_name,last_name,email\r\n\r\n")).toBe("guests.csv: no guests after the header row");
    const latin1 = Buffer.from("id,first_name,last_name,email\ng-1,Zo\xe9,Dupont,zoe@example.fr\n", "latin1");
    expect(csvError(latin1)).toBe('guests.csv:2: not UTF-8 text; save the file as "CSV UTF-8"');
  });
});

describe("JSON guest lists", () => {
  it("reads an array of guests, camelCase or snake_case, with numeric ids", () => {
    expect(parseGuestJson([ada, { id: 2, first_name: "Alan", last_name: "Turing", email: "alan@example.com" }], "guests.json")).toEqual({
      guests: [ada, { id: "2", firstName: "Alan", lastName: "Turing", email: "alan@example.com" }],
      sources: ["guests.json: [0]", "guests.json: [1]"],
    });
  });

  it("names the entry and the field that is wrong", () => {
    const message = (value: unknown) => {
      try {
        parseGuestJson(value, "guests.json");
      } catch (error) {
        return (error as Error).message;
      }
      return "accepted";
    };
    expect(message({ guests: [] })).toBe("guests.json: must be a JSON array of guests, got an object");
    expect(message([])).toBe("guests.json: the guest list is empty");
    expect(message([ada, { id: "g-2", firstName: "Alan" }])).toBe("guests.json: [1]: email is required");
    expect(message([ada, "g-2"])).toBe("guests.json: [1]: must be an object, got a string");
    expect(message([{ ...ada, email: ["a@b.c"] }])).toBe("guests.json: [0]: email must be a string, got an array");
  });
});

describe("guest files", () => {
  const dir = mkdtempSync(join(tmpdir(), "ticketgen-cli-guests-"));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it("reads .json files as JSON and anything else as CSV", () => {
    expect(readGuestList(write("list.JSON", JSON.stringify([ada]))).guests).toEqual([ada]);
    expect(readGuestList(write("list.txt", "id,first_name,last_name,email\ng-1,Ada,Lovelace,ada@example.com\n")).guests).toEqual([ada]);
    expect(readGuest(write("guest.json", JSON.stringify(ada)))).toEqual(ada);
  });

  it("names the file and line of a JSON syntax error, and a file that is missing", () => {
    const broken = write("broken.json", '[\n  {"id": "g-1",\n   "firstName": "Ada",\n  }\n]');
    expect(() => readGuestList(broken)).toThrow(`${broken}:4: invalid JSON: expected double-quoted property name`);
    expect(() => readGuestList(join(dir, "nope.csv"))).toThrow(`${join(dir, "nope.csv")}: no such file or directory`);
    expect(() => readGuest(write("list-as-guest.json", JSON.stringify([ada])))).toThrow(
      /must be a JSON object with id, firstName, lastName and email, got an array$/,
    );
  });
});
