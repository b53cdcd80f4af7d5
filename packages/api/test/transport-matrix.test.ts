import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescMethod,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type JsonValue,
} from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateTicketCode, type Scope } from "@ticketgen/shared";
import { RetryInfoSchema } from "@ticketgen/shared/gen/google/rpc/error_details_pb";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import {
  CreateTicketRequestSchema,
  GetTicketRequestSchema,
  TicketService,
  ValidateTicketRequestSchema,
} from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { scrape, sample } from "./support/metrics.ts";
import { spawnService, type Spawned } from "./support/processes.ts";
import { freePort } from "./support/redis-server.ts";
import { ticketRequest } from "./support/requests.ts";
import { clientsFor, TEST_AUTH_SECRET, testEnv, testToken, waitFor } from "./support/stack.ts";

/**
 * The contract's core cases through every way a client reaches the API: gRPC on PORT
 * (@grpc/grpc-js), Connect and gRPC-Web on WEB_PORT (connect-node), each from a library client
 * and from buf curl. One API process serves the whole file; its drain (SIGTERM) comes last.
 */

const root = fileURLToPath(new URL("../../../", import.meta.url));
const buf = `${root}node_modules/.bin/buf`;
const ORIGIN = "https://box-office.example.com";

/** What a call ended with, the same shape whichever path it took. */
interface Outcome {
  code: string;
  message: string;
  /** The google.rpc.RetryInfo delay of the error details, when there is one. */
  retryDelayMs?: number;
  responses: JsonValue[];
}

interface Path {
  name: string;
  call(method: DescMethod, request: JsonValue, token?: string): Promise<Outcome>;
}

const succeeded = (responses: JsonValue[]): Outcome => ({ code: "OK", message: "", responses });

function failed(error: ConnectError, responses: JsonValue[] = []): Outcome {
  const retryDelay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return {
    code: Code[error.code],
    message: error.rawMessage,
    ...(retryDelay ? { retryDelayMs: durationMs(retryDelay) } : {}),
    responses,
  };
}

const authorization = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

function connectPath(transport: Transport): Path {
  return {
    name: "connect client",
    async call(method, request, token) {
      const input = fromJson(method.input, request);
      const responses: JsonValue[] = [];
      try {
        if (method.methodKind === "unary") {
          const response = await transport.unary(method as DescMethodUnary, undefined, undefined, authorization(token), input);
          return succeeded([toJson(method.output, response.message)]);
        }
        if (method.methodKind !== "server_streaming") throw new Error(`${method.name}: not a unary or server-streaming RPC`);
        const response = await transport.stream(
          method as DescMethodServerStreaming,
          undefined,
          undefined,
          authorization(token),
          createAsyncIterable([input]),
        );
        for await (const message of response.message) responses.push(toJson(method.output, message));
        return succeeded(responses);
      } catch (error) {
        return failed(ConnectError.from(error), responses);
      }
    },
  };
}

/** The status grpc-js reports, read back with connect's decoder of grpc-status-details-bin. */
function grpcJsError(error: grpc.ServiceError): ConnectError {
  const trailer = new Headers({ "grpc-status": String(error.code), "grpc-message": encodeURIComponent(error.details) });
  const details = error.metadata?.get("grpc-status-details-bin")[0];
  if (details) trailer.set("grpc-status-details-bin", Buffer.from(details).toString("base64"));
  return findTrailerError(trailer)!;
}

/** A plain @grpc/grpc-js client: paths and protobuf-es encodings, nothing shared with the server. */
function grpcJsPath(address: string): Path {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return {
    name: "grpc-js client",
    call(method, request, token) {
      const path = `/${method.parent.typeName}/${method.name}`;
      const metadata = new grpc.Metadata();
      for (const [key, value] of Object.entries(authorization(token))) metadata.set(key, value);
      const serialize = (message: unknown) => Buffer.from(toBinary(method.input, message as never));
      const deserialize = (bytes: Buffer) => fromBinary(method.output, bytes);
      const input = fromJson(method.input, request);
      return new Promise<Outcome>((resolve) => {
        if (method.methodKind === "unary") {
          client.makeUnaryRequest(path, serialize, deserialize, input, metadata, (error, response) =>
            resolve(error ? failed(grpcJsError(error)) : succeeded([toJson(method.output, response as never)])),
          );
          return;
        }
        const responses: JsonValue[] = [];
        const call = client.makeServerStreamRequest(path, serialize, deserialize, input, metadata);
        call.on("data", (message) => responses.push(toJson(method.output, message as never)));
        call.on("error", (error: grpc.ServiceError) => resolve(failed(grpcJsError(error), responses)));
        call.on("end", () => resolve(succeeded(responses)));
      }).finally(() => client.close());
    },
  };
}

/** "not_found" → "NotFound", as Code names it. */
const codeName = (bufCode: string) => bufCode.replace(/(^|_)(\w)/g, (_, __, letter: string) => letter.toUpperCase());

/** buf curl: gRPC against PORT with reflection, Connect and gRPC-Web against WEB_PORT with the .proto files. */
function bufCurlPath(name: string, protocol: "grpc" | "connect" | "grpcweb", baseUrl: () => string): Path {
  return {
    name,
    call(method, request, token) {
      const args = [
        "curl",
        "--protocol",
        protocol,
        ...(protocol === "grpc" ? ["--http2-prior-knowledge"] : ["--schema", "proto"]),
        ...Object.entries(authorization(token)).flatMap(([key, value]) => ["-H", `${key}: ${value}`]),
        "-d",
        JSON.stringify(request),
        `${baseUrl()}/${method.parent.typeName}/${method.name}`,
      ];
      return new Promise((resolve) =>
        execFile(buf, args, { cwd: root, timeout: 30_000 }, (error, stdout, stderr) => {
          // Each response message is printed as one JSON document.
          const responses = stdout
            .split(/^}$/m)
            .filter((part) => part.trim() !== "")
            .map((part) => JSON.parse(`${part}}`) as JsonValue);
          if (!error) return resolve(succeeded(responses));
          const status = JSON.parse(stderr.slice(stderr.indexOf("{"))) as {
            code: string;
            message: string;
            details?: Array<{ type: string; value: string }>;
          };
          const retryInfo = status.details?.find((detail) => detail.type === "google.rpc.RetryInfo");
          const retryDelay = retryInfo && fromBinary(RetryInfoSchema, Buffer.from(retryInfo.value, "base64")).retryDelay;
          resolve({
            code: codeName(status.code),
            message: status.message,
            ...(retryDelay ? { retryDelayMs: durationMs(retryDelay) } : {}),
            responses,
          });
        }),
      );
    },
  };
}

let api: Spawned;
let ports: { grpc: number; web: number; metrics: number };
const grpcUrl = () => `http://127.0.0.1:${ports.grpc}`;
const webUrl = () => `http://127.0.0.1:${ports.web}`;

beforeAll(async () => {
  ports = { grpc: await freePort(), web: await freePort(), metrics: await freePort() };
  api = spawnService(
    "api",
    testEnv({
      PORT: String(ports.grpc),
      WEB_PORT: String(ports.web),
      METRICS_PORT: String(ports.metrics),
      LOG_LEVEL: "info",
      AUTH_JWT_SECRET: TEST_AUTH_SECRET,
      CORS_ORIGINS: ORIGIN,
      RATE_LIMIT_VALIDATE_PER_MINUTE: "1",
    }),
  );
  await api.outputMatching(/ticketgen API listening/);
}, 60_000);

afterAll(() => api.kill());

/** Paths are built per call: the ports are known once the API has started. */
const lazy = (name: string, path: () => Path): Path => ({ name, call: (...args) => path().call(...args) });

const paths: Path[] = [
  lazy("grpc-js client → PORT (gRPC)", () => grpcJsPath(`127.0.0.1:${ports.grpc}`)),
  lazy("connect client → WEB_PORT (Connect, HTTP/1.1)", () =>
    connectPath(createConnectTransport({ baseUrl: webUrl(), httpVersion: "1.1" })),
  ),
  lazy("connect client → WEB_PORT (gRPC-Web, h2c)", () => connectPath(createGrpcWebTransport({ baseUrl: webUrl(), httpVersion: "2" }))),
  bufCurlPath("buf curl → PORT (gRPC)", "grpc", grpcUrl),
  bufCurlPath("buf curl → WEB_PORT (Connect)", "connect", webUrl),
  bufCurlPath("buf curl → WEB_PORT (gRPC-Web)", "grpcweb", webUrl),
];

const { method: tickets } = TicketService;

describe.each(paths)("$name", (path) => {
  /** A tenant of this path's own, so that its rate limits are its own. */
  const token = (scopes?: readonly Scope[]) => testToken(`matrix-${randomBytes(4).toString("hex")}`, scopes);

  it("CreateTicket: OK with the ticket", async () => {
    const request = toJson(CreateTicketRequestSchema, ticketRequest());
    const outcome = await path.call(tickets.createTicket, request, await token());
    expect(outcome.code).toBe("OK");
    expect(outcome.responses).toEqual([{ ticket: expect.objectContaining({ id: expect.any(String), status: "TICKET_STATUS_PENDING" }) }]);
  });

  it("GetTicket of an unknown id: NOT_FOUND, naming the id", async () => {
    const id = randomUUID();
    const request = toJson(GetTicketRequestSchema, create(GetTicketRequestSchema, { lookup: { case: "id", value: id } }));
    expect(await path.call(tickets.getTicket, request, await token())).toEqual({
      code: "NotFound",
      message: `ticket ${id} not found`,
      responses: [],
    });
  });

  it("CreateTicket with an invalid email: INVALID_ARGUMENT naming the field", async () => {
    const invalid = ticketRequest();
    invalid.guest!.email = "not-an-email";
    expect(await path.call(tickets.createTicket, toJson(CreateTicketRequestSchema, invalid), await token())).toEqual({
      code: "InvalidArgument",
      message: "guest.email: must be an e-mail address",
      responses: [],
    });
  });

  it("without a token: UNAUTHENTICATED", async () => {
    expect(await path.call(tickets.createTicket, toJson(CreateTicketRequestSchema, ticketRequest()))).toEqual({
      code: "Unauthenticated",
      message: "authorization: a bearer token is required (authorization: Bearer <JWT>)",
      responses: [],
    });
  });

  it("without the scope: PERMISSION_DENIED naming it", async () => {
    const readOnly = await token(["tickets:read"]);
    expect(await path.call(tickets.createTicket, toJson(CreateTicketRequestSchema, ticketRequest()), readOnly)).toEqual({
      code: "PermissionDenied",
      message: 'this call needs the "tickets:write" scope; the token grants: tickets:read',
      responses: [],
    });
  });

  it("past a rate limit: RESOURCE_EXHAUSTED with RetryInfo", async () => {
    const tenant = await token();
    const validate = () =>
      path.call(
        tickets.validateTicket,
        toJson(
          ValidateTicketRequestSchema,
          create(ValidateTicketRequestSchema, { credential: { case: "ticketCode", value: generateTicketCode() } }),
        ),
        tenant,
      );
    expect((await validate()).code).toBe("OK");
    const refused = await validate();
    expect(refused).toEqual({
      code: "ResourceExhausted",
      message: `rate limit: this tenant has used its 1 validations per minute; retry in ${Math.ceil(refused.retryDelayMs! / 1000)} s`,
      retryDelayMs: expect.any(Number),
      responses: [],
    });
    expect(refused.retryDelayMs).toBeGreaterThan(0);
  });

  it("WatchBatch streams the batch until it has ended", async () => {
    const tenant = await token();
    const owner = clientsFor(grpcUrl(), tenant);
    const { batch } = await owner.batches.createBatch(batchRequest(2));
    await owner.batches.cancelBatch({ id: batch!.id });
    const outcome = await path.call(BatchService.method.watchBatch, { id: batch!.id }, tenant);
    expect(outcome).toEqual({
      code: "OK",
      message: "",
      responses: [{ batch: expect.objectContaining({ id: batch!.id, status: "BATCH_STATUS_CANCELLED" }) }],
    });
  });
});

describe("WEB_PORT for browsers and curl", () => {
  it("answers a CORS preflight for an allowed origin, and not for another", async () => {
    const preflight = (origin: string) =>
      fetch(`${webUrl()}/ticketgen.v1.TicketService/GetTicket`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      });
    const allowed = await preflight(ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(allowed.headers.get("access-control-allow-methods")).toContain("POST");
    expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const other = await preflight("https://elsewhere.example.com");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("serves Connect's JSON over plain HTTP/1.1, with the CORS headers of the origin", async () => {
    const id = randomUUID();
    const response = await fetch(`${webUrl()}/ticketgen.v1.TicketService/GetTicket`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: ORIGIN, ...authorization(await testToken("matrix-http1")) },
      body: JSON.stringify({ id }),
    });
    expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 404,
      body: { code: "not_found", message: `ticket ${id} not found` },
    });
  });
});

describe("PORT", () => {
  it("refuses a call without a token from its metadata, while its body is still on the way", async () => {
    const session = http2.connect(grpcUrl());
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": `/${BatchService.typeName}/${BatchService.method.createBatch.name}`,
        "content-type": "application/grpc+proto",
        te: "trailers",
      });
      stream.on("error", () => {});
      // The first bytes of a 20 MB request; the rest never comes.
      stream.write(Buffer.concat([Buffer.from([0]), Buffer.from([0x01, 0x40, 0x00, 0x00]), Buffer.alloc(1024)]));
      const status = await new Promise<string | undefined>((resolve) => {
        stream.on("response", (headers) => headers["grpc-status"] !== undefined && resolve(String(headers["grpc-status"])));
        stream.on("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
      });
      expect(status).toBe(String(Code.Unauthenticated));
    } finally {
      session.destroy();
    }
  });
});

/** A WatchBatch of a batch no worker advances: it stays open until cancelled, timed out or drained. */
async function processingBatch(tenant: string): Promise<string> {
  const { batch } = await clientsFor(grpcUrl(), tenant).batches.createBatch(batchRequest(2));
  return batch!.id;
}

/** WatchBatch over grpc-js on PORT: settles with the call's status code; `first` when the first message is in. */
function grpcJsWatch(id: string, token: string, deadlineMs?: number): { first: Promise<void>; status: Promise<grpc.ServiceError> } {
  const client = new grpc.Client(`127.0.0.1:${ports.grpc}`, grpc.credentials.createInsecure());
  const method = BatchService.method.watchBatch;
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const call = client.makeServerStreamRequest(
    `/${BatchService.typeName}/${method.name}`,
    (message: unknown) => Buffer.from(toBinary(method.input, message as never)),
    (bytes: Buffer) => fromBinary(method.output, bytes),
    create(method.input, { id }),
    metadata,
    deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
  );
  const first = new Promise<void>((resolve) => call.once("data", () => resolve()));
  const status = new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve)).finally(() => client.close());
  return { first, status };
}

describe("deadlines and drain", () => {
  it("a call past its grpc-timeout is DEADLINE_EXCEEDED and its handler stops", async () => {
    const tenant = await testToken("matrix-deadline");
    const id = await processingBatch(tenant);
    const handled = async () =>
      sample(await scrape(ports.metrics), "grpc_server_handled_total", {
        method: "ticketgen.v1.BatchService/WatchBatch",
        code: "DeadlineExceeded",
      }) ?? 0;
    const before = await handled();
    const { status } = grpcJsWatch(id, tenant, 500);
    expect((await status).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The handler's stream has ended when its metrics are recorded, with the deadline's code.
    await waitFor(async () => ((await handled()) > before ? true : undefined), 10_000, "the WatchBatch handler ended");
  });

  it("SIGTERM ends open WatchBatch streams on both ports with UNAVAILABLE, then the process exits 0", async () => {
    const tenant = await testToken("matrix-drain");
    const id = await processingBatch(tenant);
    const grpcJs = grpcJsWatch(id, tenant);
    const web = createClient(BatchService, createGrpcWebTransport({ baseUrl: webUrl(), httpVersion: "2" }));
    const webStream = web.watchBatch({ id }, { headers: authorization(tenant) })[Symbol.asyncIterator]();
    await Promise.all([grpcJs.first, webStream.next()]);
    api.kill("SIGTERM");
    const message = `this API server is shutting down; call WatchBatch again to keep watching batch ${id} (another server answers)`;
    const grpcStatus = await grpcJs.status;
    expect({ code: grpcStatus.code, message: grpcStatus.details }).toEqual({ code: grpc.status.UNAVAILABLE, message });
    const webError = await webStream.next().then(
      () => undefined,
      (error: unknown) => ConnectError.from(error),
    );
    expect({ code: webError?.code, message: webError?.rawMessage }).toEqual({ code: Code.Unavailable, message });
    expect(await api.exited()).toBe(0);
  });
});
