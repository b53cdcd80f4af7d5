import { once } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates } from "../../shared/test/support/certificates.ts";
import { runCli } from "./support/run-cli.ts";

const servers: Server[] = [];

async function listening<T extends Server>(server: T): Promise<number> {
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as { port: number }).port;
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

const getTicket = (server: string) => runCli(["--server", server, "ticket", "get", "TKT-X"]);

let http1Port: number;
let tlsPort: number;
let h2cPort: number;

beforeAll(async () => {
  const certs = makeTestCertificates();
  // What answers on METRICS_PORT: a plain HTTP/1.1 server.
  http1Port = await listening(http.createServer((_request, response) => response.end("# HELP up\n")));
  tlsPort = await listening(http2.createSecureServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }));
  h2cPort = await listening(http2.createServer());
});

afterAll(() => {
  for (const server of servers) server.close();
});

describe("a CLI pointed at the wrong port or protocol", () => {
  it("asks whether an HTTP/1.1 server is the metrics port, over http://, a bare address and https://", async () => {
    const runs = await Promise.all(
      [`http://127.0.0.1:${http1Port}`, `127.0.0.1:${http1Port}`, `https://127.0.0.1:${http1Port}`].map(getTicket),
    );
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `ticketgen: 127.0.0.1:${http1Port} answers HTTP/1.1, not gRPC over HTTP/2: is this the metrics port (METRICS_PORT, 9464 by default)? ` +
          "Point --server (or TICKETGEN_SERVER) at the API's gRPC port (its PORT, 3004 by default)\n",
      );
    }
  });

  it("says to use https:// when the server speaks TLS", async () => {
    const run = await getTicket(`127.0.0.1:${tlsPort}`);
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr: `ticketgen: 127.0.0.1:${tlsPort} speaks TLS, but the CLI speaks cleartext HTTP/2 (h2c) to http:// and bare addresses: use --server https://127.0.0.1:${tlsPort}\n`,
    });
  });

  it("says to use http:// when an https:// address answers in cleartext HTTP/2", async () => {
    const run = await getTicket(`https://localhost:${h2cPort}`);
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr: `ticketgen: localhost:${h2cPort} speaks cleartext HTTP/2 (h2c), not TLS: use --server http://localhost:${h2cPort} (or localhost:${h2cPort})\n`,
    });
  });

  it("names the address and the flag to change when nothing listens", async () => {
    const port = await closedPort();
    const run = await getTicket(`localhost:${port}`);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      new RegExp(
        `^ticketgen: nothing is listening at localhost:${port} \\(connect ECONNREFUSED [^)]+:${port}\\): is the API running\\? ` +
          "If it is elsewhere, point --server \\(or TICKETGEN_SERVER\\) at the API's gRPC port \\(its PORT, 3004 by default\\)\\n$",
      ),
    );
  });
});
