import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/run-cli.ts";

// Another process on the demo's API port, listening as `pnpm start:api` would.
const occupant = createServer((socket) => socket.end());
let port: number;

beforeAll(async () => {
  occupant.listen(0, "127.0.0.1");
  await once(occupant, "listening");
  port = (occupant.address() as { port: number }).port;
});

afterAll(() => {
  occupant.close();
});

describe("the demo's start-up", () => {
  it("refuses a port another process holds, in one line naming the port and the setting, before starting anything", async () => {
    const demo = spawn("node_modules/.bin/tsx", ["scripts/demo.ts"], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    demo.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    demo.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(demo, "close")) as [number | null];

    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toBe(
      `demo: port ${port} is already in use (by \`pnpm start:api\`?), and the demo would talk to that process instead of its own API; ` +
        "stop it, or run the demo on another port: PORT=3104 ./scripts/demo.sh\n",
    );
  });
});
