import { execFile } from "node:child_process";
import { once } from "node:events";
import http2 from "node:http2";
import { connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@ticketgen/shared/gen/health/v1/health_pb";
import { TicketService, TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { makeTestCertificates } from "../../shared/test/support/certificates.ts";
import { spawnService, type Spawned } from "./support/processes.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, testEnv, type TestApi } from "./support/stack.ts";

const certs = makeTestCertificates();
const TLS_ENV = { TLS_CERT_FILE: certs.certFile, TLS_KEY_FILE: certs.keyFile };

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );

const tlsTransport = (port: number) => createGrpcTransport({ baseUrl: `https://localhost:${port}`, nodeOptions: { ca: certs.ca } });

describe("gRPC over TLS", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(TLS_ENV);
  });
  afterAll(() => api?.stop());

  it("negotiates HTTP/2 with ALPN and a gRPC client that trusts the CA issues and reads a ticket", async () => {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port: api.app.port,
      servername: "localhost",
      ca: certs.ca,
      ALPNProtocols: ["h2", "http/1.1"],
    });
    await once(socket, "secureConnect");
    expect({ alpn: socket.alpnProtocol, authorized: socket.authorized }).toEqual({ alpn: "h2", authorized: true });
    socket.destroy();

    const tickets = createClient(TicketService, tlsTransport(api.app.port));
    const { ticket } = await tickets.createTicket(ticketRequest());
    expect(ticket?.status).toBe(TicketStatus.PENDING);
    expect((await tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })).ticket?.ticketCode).toBe(ticket!.ticketCode);
  });

  it("grpc-js with SSL credentials gets SERVING from grpc.health.v1", async () => {
    const client = new grpc.Client(`localhost:${api.app.port}`, grpc.credentials.createSsl(certs.ca));
    try {
      const answer = await new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          (x: Buffer) => x,
          (x: Buffer) => x,
          Buffer.alloc(0),
          (error, value) => (error ? reject(error) : resolve(value!)),
        ),
      );
      // HealthCheckResponse { status: SERVING (1) }
      expect(answer.toString("hex")).toBe("0801");
    } finally {
      client.close();
    }
  });

  it("a cleartext (h2c) client against the TLS port fails; so does a client that does not trust the certificate", async () => {
    // The server takes the HTTP/2 preface for a broken TLS hello and drops the connection;
    // connect-node reports that as a cancelled stream.
    const plain = await errorOf(createClient(Health, grpcTransport(`http://127.0.0.1:${api.app.port}`)).check({ service: "" }));
    expect([Code.Canceled, Code.Unavailable]).toContain(plain?.code);
    const session = http2.connect(`http://127.0.0.1:${api.app.port}`);
    let settings = false;
    session.on("remoteSettings", () => (settings = true));
    session.on("error", () => {});
    await once(session, "close");
    expect(settings).toBe(false);
    const untrusted = await errorOf(
      createClient(Health, createGrpcTransport({ baseUrl: `https://localhost:${api.app.port}` })).check({ service: "" }),
    );
    expect(untrusted?.rawMessage).toMatch(/self[- ]signed|unable to (get|verify)/i);
  });

  /** Runs the script as the image does (the API answers from this process, so not spawnSync). */
  const probe = (env: Record<string, string>) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const script = fileURLToPath(new URL("../../../deploy/docker/grpc-health-check.mjs", import.meta.url));
      execFile(
        process.execPath,
        [script],
        { env: { PATH: process.env.PATH, PORT: String(api.app.port), ...env } },
        (error, _stdout, stderr) => resolve({ status: error ? (error.code as number) : 0, stderr }),
      );
    });

  it("the image's health check script speaks TLS when the API's environment has TLS_CERT_FILE, and gets SERVING", async () => {
    expect(await probe(TLS_ENV)).toEqual({ status: 0, stderr: "" });
  });

  it("without TLS_CERT_FILE the health check script speaks h2c, which the TLS port refuses", async () => {
    const run = await probe({});
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^grpc health: /);
  });
});

describe("API process with TLS", () => {
  const spawned: Spawned[] = [];
  afterEach(() => {
    for (const child of spawned.splice(0)) child.kill();
  });
  const start = (env: Record<string, string | undefined>) => {
    const child = spawnService("api", env);
    spawned.push(child);
    return child;
  };

  it.each([
    [
      { TLS_CERT_FILE: certs.certFile },
      "TLS_KEY_FILE: must be set together with TLS_CERT_FILE (TLS needs a certificate and its key); unset both for cleartext HTTP/2",
    ],
    [
      { ...TLS_ENV, TLS_KEY_FILE: "/nonexistent/tls.key" },
      "TLS_KEY_FILE: cannot read /nonexistent/tls.key: ENOENT: no such file or directory",
    ],
    [{ ...TLS_ENV, TLS_CERT_FILE: certs.keyFile }, `TLS_CERT_FILE: ${certs.keyFile} is not a PEM certificate`],
  ])("refuses to start, exit 78, one line naming the variable: %j", async (env, problem) => {
    const api = start({ ...testEnv(), ...env });
    expect(await api.exited()).toBe(78);
    expect(api.output()).toBe(`ticketgen api: invalid configuration: ${problem}\n`);
  });

  it(
    "drains on SIGTERM over TLS as over h2c: NOT_SERVING, in-flight calls finish, new calls refused, exit 0",
    { timeout: 60_000 },
    async () => {
      const api = start({ ...testEnv(), ...TLS_ENV, LOG_LEVEL: "info" });
      const port = Number((await api.outputMatching(/"port":(\d+)\D/))[1]);
      expect(api.output()).toContain('"tls":true');
      const transport = tlsTransport(port);
      const tickets = createClient(TicketService, transport);
      const health = createClient(Health, transport);

      const watched: Status[] = [];
      const watching = (async () => {
        for await (const { status } of health.watch({ service: "" })) watched.push(status);
      })();
      const calls = Array.from({ length: 30 }, () => tickets.createTicket(ticketRequest()));
      await Promise.race(calls);
      api.kill("SIGTERM");
      const results = await Promise.allSettled(calls);
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      await watching;
      expect(watched).toEqual([Status.SERVING, Status.NOT_SERVING]);

      expect(await api.exited()).toBe(0);
      expect(api.output()).toContain('"action":"api_stopped"');
      expect((await errorOf(tickets.createTicket(ticketRequest())))?.code).toBe(Code.Unavailable);
    },
  );
});
