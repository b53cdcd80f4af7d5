import http2 from "node:http2";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@ticketgen/shared/gen/health/v1/health_pb";
import { BatchService, CreateBatchRequestSchema, WatchBatchRequestSchema } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketService, ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, waitFor, type TestApi } from "./support/stack.ts";

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );

/** An empty grpc.health.v1 Watch request (service ""), framed: it stays open until the server drains. */
const WATCH_FRAME = Buffer.from([0, 0, 0, 0, 0]);
const watchHeaders = { ":method": "POST", ":path": "/grpc.health.v1.Health/Watch", "content-type": "application/grpc", te: "trailers" };

describe("HTTP/2 limits, defaults", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  it("the old design's own test passes: 1,000 lookups of unknown tickets at once on one new connection, all NOT_FOUND", async () => {
    const tickets = createClient(TicketService, grpcTransport(api.baseUrl));
    const outcomes = await Promise.all(
      Array.from({ length: 1000 }, () => errorOf(tickets.getTicket({ lookup: { case: "id", value: randomUUID() } }))),
    );
    expect(new Set(outcomes.map((error) => error?.code))).toEqual(new Set([Code.NotFound]));
  });

  it("advertises the stream limit in its SETTINGS on both ports, and the header limit on WEB_PORT", async () => {
    const settingsOf = async (baseUrl: string) => {
      const session = http2.connect(baseUrl);
      try {
        return ((await once(session, "remoteSettings")) as [http2.Settings])[0];
      } finally {
        session.close();
      }
    };
    expect(await settingsOf(api.baseUrl)).toMatchObject({ maxConcurrentStreams: 1000 });
    expect(await settingsOf(api.webBaseUrl)).toMatchObject({ maxConcurrentStreams: 1000, maxHeaderListSize: 16 * 1024 });
  });

  it("a request over GRPC_MAX_REQUEST_BYTES (64 KiB) is RESOURCE_EXHAUSTED, naming the limit, in gRPC and Connect", async () => {
    const request = ticketRequest();
    request.guest!.lastName = "x".repeat(70_000);
    for (const transport of [grpcTransport(api.baseUrl), createConnectTransport({ baseUrl: api.webBaseUrl, httpVersion: "2" })]) {
      const error = await errorOf(createClient(TicketService, transport).createTicket(request));
      expect(error?.code).toBe(Code.ResourceExhausted);
      // connect's words; the size is known up front in gRPC's framing, not in a Connect unary body.
      expect(error?.rawMessage).toMatch(/^message size (\d+ )?is larger than configured readMaxBytes 65536$/);
    }
  });

  it("the largest valid requests, in Connect's JSON with every character escaped (6 bytes each), fit the default", async () => {
    const escaped = (n: number) => "\u0001".repeat(n);
    const request = ticketRequest({ eventId: "e".repeat(128), guestId: "g".repeat(128) });
    Object.assign(request.event!, { name: escaped(200), location: escaped(300) });
    Object.assign(request.guest!, { firstName: escaped(100), lastName: escaped(100) });
    request.ticketType!.name = escaped(100);
    request.idempotencyKey = escaped(128);
    const json = createClient(TicketService, createConnectTransport({ baseUrl: api.webBaseUrl, httpVersion: "2", useBinaryFormat: false }));
    expect((await json.createTicket(request)).ticket?.id).toEqual(expect.any(String));
    const validation = await json.validateTicket({ credential: { case: "qrPayload", value: escaped(4096) }, eventId: escaped(128) });
    expect(validation.result).toBe(ValidationResult.MALFORMED);
  });

  it("CreateBatch keeps a large limit: a 2,000-guest request (~120 KB) reaches validation", async () => {
    const request = batchRequest(2000);
    expect(toBinary(CreateBatchRequestSchema, request).length).toBeGreaterThan(100_000);
    request.guests[1999]!.email = "not-an-email";
    const error = await errorOf(createClient(BatchService, grpcTransport(api.baseUrl)).createBatch(request));
    expect({ code: error?.code, message: error?.rawMessage }).toEqual({
      code: Code.InvalidArgument,
      message: "guests[1999].email: must be an e-mail address",
    });
  });
});

describe("HTTP/2 limits, tightened", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({
      GRPC_MAX_CONCURRENT_STREAMS: "4",
      GRPC_MAX_HEADER_LIST_BYTES: "2048",
      GRPC_IDLE_TIMEOUT_MS: "300",
      GRPC_MAX_BATCH_REQUEST_BYTES: String(128 * 1024),
      MAX_FILE_SIZE: String(100 * 1024),
    });
  });
  afterAll(() => api?.stop());

  it("CreateBatch over GRPC_MAX_BATCH_REQUEST_BYTES is RESOURCE_EXHAUSTED", async () => {
    const request = batchRequest(3000);
    expect(toBinary(CreateBatchRequestSchema, request).length).toBeGreaterThan(128 * 1024);
    const error = await errorOf(createClient(BatchService, grpcTransport(api.baseUrl)).createBatch(request));
    expect(error?.code).toBe(Code.ResourceExhausted);
    expect(error?.rawMessage).toMatch(/^message size \d+ is larger than configured readMaxBytes 131072$/);
  });

  it("PutTemplate takes a template of MAX_FILE_SIZE bytes, beyond the ordinary limit; GetTemplate of the same service keeps that limit", async () => {
    const content = `<html><body>{{guestName}}<!-- ${"p".repeat(100 * 1024 - 60)} --></body></html>`;
    const put = await api.templates.putTemplate({ id: "big", name: "Big", content });
    expect(put.template?.version).toBe(1);
    const error = await errorOf(api.templates.getTemplate({ id: "x".repeat(70_000) }));
    expect(error?.code).toBe(Code.ResourceExhausted);
  });

  /** One GetTicket of an empty request on a raw session: the answer's grpc-status, or the code the stream was reset with. */
  async function getWithPadding(session: http2.ClientHttp2Session, padding: number): Promise<string> {
    const stream = session.request({ ...watchHeaders, ":path": "/ticketgen.v1.TicketService/GetTicket", "x-padding": "p".repeat(padding) });
    stream.on("error", () => {});
    let status: string | undefined;
    stream.on("response", (headers) => (status ??= headers["grpc-status"] as string | undefined));
    stream.on("trailers", (trailers) => (status ??= trailers["grpc-status"] as string | undefined));
    stream.end(WATCH_FRAME);
    stream.resume();
    await new Promise((resolve) => stream.once("close", resolve));
    return stream.rstCode === http2.constants.NGHTTP2_NO_ERROR ? `grpc-status ${status}` : `reset ${stream.rstCode}`;
  }

  it("headers over GRPC_MAX_HEADER_LIST_BYTES on WEB_PORT: the stream is reset with ENHANCE_YOUR_CALM, on a connection's first request too; smaller headers pass", async () => {
    const calm = `reset ${http2.constants.NGHTTP2_ENHANCE_YOUR_CALM}`;
    const first = http2.connect(api.webBaseUrl);
    first.on("error", () => {});
    try {
      // Sent before the server's SETTINGS are known, let alone acknowledged.
      expect(await getWithPadding(first, 3000)).toBe(calm);
      expect(await getWithPadding(first, 1000)).toBe(`grpc-status ${Code.InvalidArgument}`);
      expect(await getWithPadding(first, 3000)).toBe(calm);
    } finally {
      first.destroy();
    }
  });

  it("headers over GRPC_MAX_HEADER_LIST_BYTES on PORT are RESOURCE_EXHAUSTED for a gRPC client", async () => {
    const client = new grpc.Client(`127.0.0.1:${api.app.port}`, grpc.credentials.createInsecure());
    const check = (padding: number) =>
      new Promise<grpc.ServiceError | undefined>((resolve) => {
        const metadata = new grpc.Metadata();
        metadata.set("x-padding", "p".repeat(padding));
        client.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          (x: Buffer) => x,
          (x: Buffer) => x,
          Buffer.alloc(0),
          metadata,
          (error) => resolve(error ?? undefined),
        );
      });
    try {
      expect(await check(1000)).toBeUndefined();
      expect((await check(3000))?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
  });

  it("a client that opens more streams than GRPC_MAX_CONCURRENT_STREAMS before it knows the limit gets REFUSED_STREAM for the extra ones", async () => {
    const session = http2.connect(api.baseUrl);
    session.on("error", () => {});
    try {
      const streams = Array.from({ length: 6 }, () => {
        const stream = session.request(watchHeaders);
        stream.on("error", () => {});
        stream.end(WATCH_FRAME);
        return stream;
      });
      const outcomes = await Promise.all(
        streams.map(
          (stream) =>
            new Promise<string>((resolve) => {
              stream.once("response", () => resolve("open"));
              stream.once("close", () => resolve(`reset ${stream.rstCode}`));
            }),
        ),
      );
      expect(outcomes.sort()).toEqual([
        "open",
        "open",
        "open",
        "open",
        `reset ${http2.constants.NGHTTP2_REFUSED_STREAM}`,
        `reset ${http2.constants.NGHTTP2_REFUSED_STREAM}`,
      ]);
    } finally {
      session.destroy();
    }
  });

  it("a client that knows the limit queues its extra calls until a stream closes (connect-node)", async () => {
    const health = createClient(Health, grpcTransport(api.baseUrl));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    const watchers = Array.from({ length: 4 }, () => new AbortController());
    const events: string[] = [];
    const watches = watchers.map(async (controller, i) => {
      const stream = health.watch({ service: "" }, { signal: controller.signal })[Symbol.asyncIterator]();
      await stream.next();
      events.push(`watch ${i} open`);
      return stream;
    });
    const opened = await Promise.all(watches);
    const check = health.check({ service: "" }).then((answer) => {
      events.push("check answered");
      return answer;
    });
    // Nothing signals a call held back by the client: a negative check, so the check gets time to
    // be answered (wrongly) before a stream closes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    events.push("watch 0 cancelled");
    watchers[0]!.abort();
    expect((await check).status).toBe(Status.SERVING);
    expect(events.slice(4)).toEqual(["watch 0 cancelled", "check answered"]);
    for (const controller of watchers.slice(1)) controller.abort();
    await Promise.allSettled(opened.map(async (stream) => stream.return?.()));
  });

  it("closes a connection with no open stream after GRPC_IDLE_TIMEOUT_MS (GOAWAY NO_ERROR); the client reconnects for its next call", async () => {
    const session = http2.connect(api.baseUrl);
    const goaway = once(session, "goaway") as Promise<[number]>;
    const closed = once(session, "close");
    const stream = session.request({ ...watchHeaders, ":path": "/grpc.health.v1.Health/Check" });
    stream.end(WATCH_FRAME);
    stream.resume();
    await once(stream, "close");
    const [code] = await goaway;
    expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
    await closed;

    const sessions = new Http2SessionManager(api.baseUrl);
    const health = createClient(Health, createGrpcTransport({ baseUrl: api.baseUrl, sessionManager: sessions }));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    await waitFor(
      async () => (sessions.state() === "closed" ? true : undefined),
      10_000,
      "the client's idle connection closed by the server",
    );
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
  });

  it("never closes a connection while a stream is open on it, however quiet (WatchBatch of a batch no worker advances)", async () => {
    const { batch } = await createClient(BatchService, grpcTransport(api.baseUrl)).createBatch(batchRequest(1));
    const session = http2.connect(api.baseUrl);
    let goaway = false;
    session.on("goaway", () => (goaway = true));
    const watch = session.request({ ...watchHeaders, ":path": "/ticketgen.v1.BatchService/WatchBatch" });
    const request = toBinary(WatchBatchRequestSchema, create(WatchBatchRequestSchema, { id: batch!.id }));
    const frame = Buffer.alloc(5 + request.length);
    frame.writeUInt32BE(request.length, 1);
    frame.set(request, 5);
    watch.end(frame);
    const messages: Buffer[] = [];
    watch.on("data", (chunk: Buffer) => messages.push(chunk));
    await waitFor(async () => (messages.length > 0 ? true : undefined), 15_000, "first WatchBatch answer");
    // Five idle timeouts with the stream open and nothing new to say: each measured by a
    // connection opened later, with no stream, getting its GOAWAY.
    for (let i = 0; i < 5; i++) {
      const idle = http2.connect(api.baseUrl);
      await once(idle, "goaway");
      idle.destroy();
    }
    expect({ goaway, closed: session.closed, watchOpen: !watch.closed }).toEqual({ goaway: false, closed: false, watchOpen: true });

    const closed = once(session, "close");
    watch.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
    expect(goaway).toBe(true);
  });
});
