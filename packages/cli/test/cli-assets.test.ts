import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../api/test/support/stack.ts";
import { runCli } from "./support/run-cli.ts";

let api: TestApi;
let dir: string;
const cli = (...args: string[]) => runCli(["--server", api.baseUrl, ...args]);
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#123456"/></svg>';

beforeAll(async () => {
  api = await startTestApi();
  dir = mkdtempSync(join(tmpdir(), "ticketgen-cli-assets-"));
});

afterAll(async () => {
  await api?.stop();
});

describe("ticketgen asset", () => {
  it("puts, lists, gets (to a file) and deletes an asset", async () => {
    const file = join(dir, "logo.svg");
    writeFileSync(file, LOGO);
    const put = await cli("asset", "put", "cli-logo", file);
    expect(put, put.stderr).toMatchObject({ code: 0, stderr: "" });
    expect(put.stdout).toMatch(/^cli-logo\timage\/svg\+xml\t\d+ bytes\tsha256 [0-9a-f]{64}\tupdated \S+Z\n$/);

    const listed = await cli("--json", "asset", "list");
    expect(listed.code).toBe(0);
    const ids = listed.stdout
      .trim()
      .split("\n")
      .flatMap((line) => (JSON.parse(line) as { assets?: Array<{ id: string }> }).assets ?? [])
      .map((asset) => asset.id);
    expect(ids).toContain("cli-logo");

    const out = join(dir, "copy.svg");
    const got = await cli("asset", "get", "cli-logo", "--out", out);
    expect(got, got.stderr).toMatchObject({ code: 0 });
    const stored = readFileSync(out);
    expect(got.stdout).toBe(`wrote ${out} (${stored.length} bytes)\n`);
    expect(stored.toString()).toContain('fill="#123456"');

    expect(await cli("asset", "delete", "cli-logo")).toMatchObject({ code: 0, stdout: "deleted cli-logo\n" });
    const missing = await cli("asset", "get", "cli-logo");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toBe('ticketgen: NOT_FOUND: asset "cli-logo" not found\n');
  });

  it("names the refused file type", async () => {
    const file = join(dir, "notes.txt");
    writeFileSync(file, "not an image\n");
    const run = await cli("asset", "put", "notes", file, "--content-type", "image/png");
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/^ticketgen: INVALID_ARGUMENT: data: is of no type ticketgen recognises/);
  });
});
