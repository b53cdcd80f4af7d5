import { execFile } from "node:child_process";
import { chownSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CHROMIUM_ARGS, chromiumLaunchOptions, chromiumSandbox } from "../src/browser/chromium.ts";

const PROBE = path.join(import.meta.dirname, "support", "confinement-probe.ts");
/** The image's user (deploy/docker/worker.Dockerfile runs the worker as 1000:1000). */
const IMAGE_UID = 1000;

interface Probe {
  uid: number;
  sandbox: boolean;
  pdf: string;
  own: { seccomp: number; pidNamespaces: number };
  renderers: Array<{ seccomp: number; pidNamespaces: number }>;
}

/**
 * Launches a BrowserPool in a process of its own as an unprivileged user, as the worker image
 * runs: as UID 1000 when this test runs as root (setpriv), else as the test's own user.
 */
async function probeAsUnprivilegedUser(chromiumSandboxSetting: string): Promise<Probe> {
  const asRoot = process.getuid?.() === 0;
  const home = mkdtempSync(path.join(tmpdir(), "ticketgen-sandbox-home-"));
  if (asRoot) chownSync(home, IMAGE_UID, IMAGE_UID);
  const node = [process.execPath, "--import", "tsx", PROBE];
  const [command, ...args] = asRoot ? ["setpriv", `--reuid=${IMAGE_UID}`, `--regid=${IMAGE_UID}`, "--clear-groups", "--", ...node] : node;
  const { stdout } = await promisify(execFile)(command!, args, {
    env: { ...process.env, HOME: home, CHROMIUM_SANDBOX: chromiumSandboxSetting },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Probe;
}

describe("Chromium's sandbox", () => {
  it("is on unless the worker runs as root; CHROMIUM_SANDBOX=true or false forces it", () => {
    expect([chromiumSandbox("auto", 1000), chromiumSandbox("auto", 0)]).toEqual([true, false]);
    expect([chromiumSandbox("true", 1000), chromiumSandbox("false", 1000), chromiumSandbox("false", 0)]).toEqual([true, false, false]);
  });

  it("decides Playwright's --no-sandbox alone: our own flags never carry it", () => {
    expect(CHROMIUM_ARGS.some((arg) => arg.includes("sandbox"))).toBe(false);
    expect(chromiumLaunchOptions("/usr/bin/chromium", 1000, true)).toMatchObject({ chromiumSandbox: true, args: CHROMIUM_ARGS });
    expect(chromiumLaunchOptions("/usr/bin/chromium", 1000, false)).toMatchObject({ chromiumSandbox: false, args: CHROMIUM_ARGS });
  });

  it("really runs for a worker that is not root: its renderers get seccomp-bpf and namespaces of their own", async () => {
    const probe = await probeAsUnprivilegedUser("auto");
    expect(probe.uid).not.toBe(0);
    expect(probe.sandbox).toBe(true);
    expect(probe.pdf).toBe("%PDF-");
    expect(probe.renderers.length).toBeGreaterThan(0);
    for (const renderer of probe.renderers) {
      expect(renderer.seccomp).toBe(2);
      expect(renderer.pidNamespaces).toBeGreaterThan(probe.own.pidNamespaces);
    }
  }, 90_000);

  it("CHROMIUM_SANDBOX=false leaves the same user's renderers unconfined (what the sandbox adds)", async () => {
    const probe = await probeAsUnprivilegedUser("false");
    expect(probe.sandbox).toBe(false);
    expect(probe.renderers.length).toBeGreaterThan(0);
    expect(probe.renderers.map((r) => [r.seccomp, r.pidNamespaces])).toEqual(
      probe.renderers.map(() => [probe.own.seccomp, probe.own.pidNamespaces]),
    );
  }, 90_000);
});
