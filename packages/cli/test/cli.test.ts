import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyRing, generateTicketCode, signToken } from "@ticketgen/shared";
import {
  GetTicketResponseSchema,
  TicketStatus,
  ValidateTicketResponseSchema,
  ValidationResult,
} from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { ticketRequest } from "../../api/test/support/requests.ts";
import { pdfPageCount, pdfText } from "../../api/test/support/pdf.ts";
import { startTestApi, startTestWorker, TEST_SECRET, waitFor, type TestApi } from "../../api/test/support/stack.ts";
import { REPO_ROOT, runCli } from "./support/run-cli.ts";

let api: TestApi;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let dir: string;
let eventFile: string;
let eventId: string;

const cli = (...args: string[]) => runCli(["--server", api.baseUrl, ...args]);

const writeFile = (name: string, content: string) => {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
};

const guestFile = (email = "ada@example.com") =>
  writeFile(`guest-${randomUUID()}.json`, JSON.stringify({ id: `g-${randomUUID()}`, firstName: "Ada", lastName: "Lovelace", email }));

/** `ticket create`, returning the code and id it printed. */
async function createTicket(): Promise<{ code: string; id: string }> {
  const run = await cli("ticket", "create", "--event", eventFile, "--guest", guestFile(), "--locale", "fr");
  expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
  const code = /^Ticket (TKT-\S+)\s+PENDING$/m.exec(run.stdout)?.[1];
  const id = /^\s+id\s+(\S+)$/m.exec(run.stdout)?.[1];
  expect(code && id, run.stdout).toBeTruthy();
  return { code: code!, id: id! };
}

beforeAll(async () => {
  api = await startTestApi();
  worker = await startTestWorker(api);
  dir = mkdtempSync(join(tmpdir(), "ticketgen-cli-"));
  eventId = `gala-${randomUUID()}`;
  eventFile = writeFile(
    "event.json",
    JSON.stringify({
      id: eventId,
      name: "Autumn Gala",
      startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      location: "Salle Pleyel, Paris",
      timezone: "Europe/Paris",
      ticketType: { id: "vip", name: "VIP" },
    }),
  );
});

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
});

describe("ticketgen ticket", () => {
  it("creates a ticket, then shows it by code (human) and by id (--json)", async () => {
    const { code, id } = await createTicket();

    const human = await cli("ticket", "get", code.toLowerCase());
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^Ticket ${code}  (PENDING|GENERATED)\\n`));
    expect(human.stdout).toMatch(new RegExp(`^  event +${eventId}$`, "m"));
    expect(human.stdout).toMatch(/^ {2}ticket type +vip$/m);
    expect(human.stdout).toMatch(/^ {2}created +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);

    const json = await cli("--json", "ticket", "get", id);
    expect(json).toMatchObject({ code: 0, stderr: "" });
    expect(json.stdout.trim().split("\n")).toHaveLength(1);
    const { ticket } = fromJson(GetTicketResponseSchema, JSON.parse(json.stdout));
    expect(ticket).toMatchObject({ id, ticketCode: code, eventId, ticketTypeId: "vip", locale: "fr" });
  });

  it("validates with --redeem: VALID the first time, ALREADY_REDEEMED after", async () => {
    const { code } = await createTicket();
    const { ticket } = await api.tickets.getTicket({ lookup: { case: "ticketCode", value: code } });

    const first = await cli("ticket", "validate", ticket!.qrPayload, "--event-id", eventId, "--redeem");
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toMatch(new RegExp(`^VALID  ${code}\\n`));

    const second = await cli("ticket", "validate", code, "--redeem", "--json");
    expect(second).toMatchObject({ code: 18, stderr: "" });
    expect(JSON.parse(second.stdout)).toMatchObject({ result: "VALIDATION_RESULT_ALREADY_REDEEMED", ticket: { ticketCode: code } });
  });

  it("exits 0 only for VALID, and 10 + the ValidationResult number for each refusal", async () => {
    const issue = async (request = ticketRequest()) => (await api.tickets.createTicket(request)).ticket!;
    const valid = await issue();
    const redeemed = await issue();
    await api.tickets.validateTicket({ credential: { case: "ticketCode", value: redeemed.ticketCode }, redeem: true });
    const revoked = await issue();
    await api.tickets.revokeTicket({ id: revoked.id, reason: "refunded" });
    // A token the API's own key signed, past its expiry: the API refuses to issue one for a past event.
    const expired = signToken(createKeyRing([{ kid: "K1", secret: Buffer.from(TEST_SECRET) }]), {
      ticketId: valid.id,
      eventId: valid.eventId,
      expiresAt: new Date(Date.now() - 1000),
    });

    const cases: Array<[ValidationResult, string[]]> = [
      [ValidationResult.VALID, [valid.qrPayload]],
      [ValidationResult.MALFORMED, ["not-a-ticket"]],
      [ValidationResult.INVALID_SIGNATURE, [`${valid.qrPayload.slice(0, -4)}AAAA`]],
      [ValidationResult.EXPIRED, [expired]],
      [ValidationResult.REVOKED, [revoked.ticketCode]],
      [ValidationResult.WRONG_EVENT, [valid.qrPayload, "--event-id", `other-${randomUUID()}`]],
      [ValidationResult.NOT_FOUND, [generateTicketCode()]],
      [ValidationResult.ALREADY_REDEEMED, [redeemed.ticketCode]],
    ];
    const runs = await Promise.all(cases.map(([, args]) => cli("--json", "ticket", "validate", ...args)));
    const seen = runs.map((run) => [fromJson(ValidateTicketResponseSchema, JSON.parse(run.stdout)).result, run.code, run.stderr]);
    expect(seen).toEqual(cases.map(([result]) => [result, result === ValidationResult.VALID ? 0 : 10 + result, ""]));

    const help = await cli("ticket", "validate", "--help");
    for (const [result] of cases)
      expect(help.stdout).toMatch(
        new RegExp(`^ {2}${result === ValidationResult.VALID ? 0 : 10 + result} +${ValidationResult[result]}$`, "m"),
      );
    expect(help.stdout).toMatch(/^ {2}1 +no verdict: usage error, server unreachable/m);
  }, 120_000);

  it("writes the ticket's PDF once it is rendered", async () => {
    const { id } = await createTicket();
    await waitFor(
      async () =>
        (await api.tickets.getTicket({ lookup: { case: "id", value: id } })).ticket?.status === TicketStatus.GENERATED ? true : undefined,
      20_000,
      "ticket rendered",
    );
    const out = join(dir, "ticket.pdf");
    const run = await cli("ticket", "pdf", id, "--out", out);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(new RegExp(`^wrote ${out} \\(\\d+\\.\\d KiB\\)\\n$`));
    expect(readFileSync(out).subarray(0, 4).toString()).toBe("%PDF");
  });

  it("with --wait, waits for a fresh ticket's PDF to be drawn, then writes it", async () => {
    const { code } = await createTicket();
    const out = join(dir, "waited.pdf");
    const run = await cli("ticket", "pdf", code, "--wait", "60", "--out", out);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(readFileSync(out).subarray(0, 4).toString()).toBe("%PDF");

    const bad = await cli("ticket", "pdf", code, "--wait", "soon", "--out", out);
    expect(bad).toEqual({ code: 1, stdout: "", stderr: 'ticketgen: --wait: expected a number of seconds, got "soon"\n' });
  });

  it("with --wait, reports a ticket that cannot be drawn with the worker's reason", async () => {
    // Only a guest named Bob has a partial: Ada's ticket fails in the template.
    await api.templates.putTemplate({
      id: "bob-only",
      content: '{{#*inline "Bob"}}<h1>Bob</h1>{{/inline}}{{> (lookup . "firstName")}}{{qrCode}}',
    });
    const created = await cli("ticket", "create", "--event", eventFile, "--guest", guestFile(), "--template", "bob-only");
    const id = /^\s+id\s+(\S+)$/m.exec(created.stdout)?.[1];
    const run = await cli("ticket", "pdf", id!, "--wait", "60");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^ticketgen: ticket ${id} failed to render: .*The partial Ada could not be found`));
  });

  it("reports a request the server refuses as one line with its gRPC code and the file at fault, and exits 1", async () => {
    const guest = guestFile("not-an-address");
    const run = await cli("ticket", "create", "--event", eventFile, "--guest", guest);
    expect(run).toEqual({ code: 1, stdout: "", stderr: `ticketgen: INVALID_ARGUMENT: ${guest}: email: must be an e-mail address\n` });

    const missing = await cli("ticket", "get", randomUUID());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^ticketgen: NOT_FOUND: ticket \S+ not found\n$/);
  });

  it("names the file and line of a bad guest list, and usage errors, in one line", async () => {
    const guests = writeFile("bad.csv", "id,first_name,last_name,email\r\ng-1,Ada,Lovelace,ada@example.com\r\ng-2,Alan,Turing,\r\n");
    const bad = await cli("batch", "create", "--event", eventFile, "--guests", guests);
    expect(bad).toEqual({ code: 1, stdout: "", stderr: `ticketgen: ${guests}:3: email is empty\n` });

    const usage = await cli("ticket", "create", "--guest", guestFile());
    expect(usage).toEqual({ code: 1, stdout: "", stderr: "ticketgen: required option '--event <file>' not specified\n" });

    const help = await cli("batch", "create", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--ticket-type-id <id>");
    expect(help.stdout).toContain("Guest list: CSV with a header row");
  });
});

describe("ticketgen batch", () => {
  it("names the line of the CSV (or the entry of the JSON list) the server finds a guest invalid on", async () => {
    const guests = writeFile(
      "invalid.csv",
      ["id,first_name,last_name,email", "g-1,Ada,Lovelace,ada@example.com", "g-2,Alan,Turing,alan.example.com", ""].join("\n"),
    );
    const run = await cli("batch", "create", "--event", eventFile, "--guests", guests);
    expect(run).toEqual({ code: 1, stdout: "", stderr: `ticketgen: INVALID_ARGUMENT: ${guests}:3: email: must be an e-mail address\n` });

    // Blank lines, a spreadsheet's empty row and a quoted line break all shift the lines.
    const shifted = writeFile(
      "shifted.csv",
      [
        "id;first_name;last_name;email",
        "",
        "g-1;Ada;Lovelace;ada",
        ";;;",
        'g-2;Alan;"Tu',
        'ring";alan@example.com',
        "",
        "g-3;Grace;Hopper;grace@",
      ].join("\r\n"),
    );
    const two = await cli("batch", "create", "--event", eventFile, "--guests", shifted);
    expect(two).toEqual({
      code: 1,
      stdout: "",
      stderr: `ticketgen: INVALID_ARGUMENT: ${shifted}:3: email: must be an e-mail address; ${shifted}:8: email: must be an e-mail address\n`,
    });

    const json = writeFile(
      "invalid.json",
      JSON.stringify([
        { id: "g-1", firstName: "Ada", email: "ada@example.com" },
        { id: "g-2", firstName: "Alan", email: "alan" },
      ]),
    );
    const fromJson = await cli("batch", "create", "--event", eventFile, "--guests", json);
    expect(fromJson.stderr).toBe(`ticketgen: INVALID_ARGUMENT: ${json}: [1]: email: must be an e-mail address\n`);
  }, 60_000);

  it("creates a batch from a CSV, shows progress, and writes one PDF page per guest", async () => {
    // What a spreadsheet in a French locale exports: BOM, CRLF, semicolons, quoted fields.
    const rows = Array.from({ length: 12 }, (_, i) => `g-${i + 1};"Guest ${i + 1}";"Ström; ${i + 1}";guest${i + 1}@example.com`);
    const guests = writeFile("guests.csv", `\uFEFFid;first_name;last_name;email\r\n${rows.join("\r\n")}\r\n`);
    const out = join(dir, "batch.pdf");

    const run = await cli("batch", "create", "--event", eventFile, "--guests", guests, "--locale", "fr", "--out", out);
    expect(run.code, run.stderr).toBe(0);
    const id = /^batch (\S+): 12 tickets for event /.exec(run.stdout)?.[1];
    expect(id, run.stdout).toBeDefined();
    // stderr is a pipe here: plain progress lines, the last one terminal.
    const progress = run.stderr.trim().split("\n");
    for (const line of progress)
      expect(line).toMatch(new RegExp(`^batch ${id} (PROCESSING|COMPLETED): \\d+/12 \\(\\d+%\\), \\d+ failed, [\\d.]+/s, ETA .+$`));
    expect(progress.at(-1)).toMatch(/ COMPLETED: 12\/12 \(100%\), 0 failed, /);
    expect(run.stdout).toMatch(new RegExp(`^Batch ${id}  COMPLETED$`, "m"));
    expect(run.stdout).toMatch(/^ {2}generated +12 of 12$/m);
    expect(run.stdout).toMatch(/^ {2}failed +0$/m);
    expect(run.stdout).toMatch(/^ {2}elapsed +\d+(\.\d)? (s|min)/m);
    expect(run.stdout).toContain(`  file       ${out}\n`);

    const pdf = readFileSync(out);
    expect(await pdfPageCount(pdf)).toBe(12);
    const text = await pdfText(pdf);
    const positions = rows.map((_, i) => text.indexOf(`Guest ${i + 1} Ström; ${i + 1}`));
    expect(
      positions.every((position, i) => position > (positions[i - 1] ?? -1)),
      "one page per guest, in guest-list order",
    ).toBe(true);

    const json = await cli("--json", "batch", "get", id!);
    expect(json).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(json.stdout)).toMatchObject({ batch: { id, status: "BATCH_STATUS_COMPLETED", totalCount: 12, completedCount: 12 } });
  });
});

describe("the shipped example files", () => {
  const shipped = (name: string) => join(REPO_ROOT, "scripts/demo-data", name);

  it("ticket create takes scripts/demo-data/event.json and guest.json, and the ticket is valid at the door", async () => {
    const run = await cli("ticket", "create", "--event", shipped("event.json"), "--guest", shipped("guest.json"));
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/^ {2}event +demo-conference-2036$/m);
    const code = /^Ticket (TKT-\S+)\s+PENDING$/m.exec(run.stdout)?.[1];
    expect(code, run.stdout).toBeDefined();

    const validate = await cli("ticket", "validate", code!, "--event-id", "demo-conference-2036");
    expect(validate, validate.stderr).toMatchObject({ code: 0, stderr: "" });
    expect(validate.stdout).toMatch(new RegExp(`^VALID  ${code}\\n`));
  });

  it("batch create takes scripts/demo-data/event.json and guests.csv and writes one page per guest", async () => {
    const guestCount = readFileSync(shipped("guests.csv"), "utf8").trim().split("\n").length - 1;
    const out = join(dir, "gala.pdf");
    const run = await cli("batch", "create", "--event", shipped("event.json"), "--guests", shipped("guests.csv"), "--out", out);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^ {2}generated +${guestCount} of ${guestCount}$`, "m"));
    expect(await pdfPageCount(readFileSync(out))).toBe(guestCount);
  }, 120_000);
});
