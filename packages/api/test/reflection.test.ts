import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ServerReflection as ReflectionV1 } from "@ticketgen/shared/gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ReflectionV1Alpha } from "@ticketgen/shared/gen/grpc/reflection/v1alpha/reflection_pb";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, type TestApi } from "./support/stack.ts";

const run = promisify(execFile);
const buf = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});

afterAll(() => api.stop());

/** buf curl: a third-party client that knows nothing but what reflection tells it. */
const bufCurl = (...args: string[]) => run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 });

describe("server reflection", () => {
  it("lets buf curl list every method and call CreateTicket without the .proto files", async () => {
    const { stdout: methods } = await bufCurl("--list-methods", api.baseUrl);
    expect(methods.split("\n")).toEqual(
      expect.arrayContaining([
        "ticketgen.v1.TicketService/CreateTicket",
        "ticketgen.v1.TicketService/ValidateTicket",
        "ticketgen.v1.BatchService/WatchBatch",
        "ticketgen.v1.TemplateService/PreviewTemplate",
        "grpc.health.v1.Health/Check",
      ]),
    );

    const request = ticketRequest();
    const body = JSON.stringify({
      event: { id: request.event!.id, name: "Gala", startsAt: "2030-05-01T19:00:00Z", timezone: "Europe/Paris" },
      guest: { id: "g1", firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
      ticketType: { id: "vip", name: "VIP" },
    });
    const { stdout } = await bufCurl("-d", body, `${api.baseUrl}/ticketgen.v1.TicketService/CreateTicket`);
    const created = JSON.parse(stdout);
    expect(created.ticket.status).toBe("TICKET_STATUS_PENDING");
    expect(created.ticket.eventId).toBe(request.event!.id);
  });

  it.each([
    ["v1", ReflectionV1],
    ["v1alpha", ReflectionV1Alpha],
  ] as const)("answers %s symbol, file and list requests", async (_, service) => {
    const client = createClient(service as typeof ReflectionV1, grpcTransport(api.baseUrl));
    const requests = [
      { host: "", messageRequest: { case: "listServices" as const, value: "" } },
      { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "ticketgen.v1.TicketService.ValidateTicket" } },
      { host: "", messageRequest: { case: "fileByFilename" as const, value: "ticketgen/v1/batch.proto" } },
      { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Symbol" } },
    ];
    const responses = [];
    for await (const response of client.serverReflectionInfo(
      (async function* () {
        yield* requests;
      })(),
    ))
      responses.push(response);

    const [list, symbol, file, missing] = responses.map((r) => r.messageResponse);
    expect(list?.case === "listServicesResponse" && list.value.service.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        "ticketgen.v1.TicketService",
        "ticketgen.v1.BatchService",
        "ticketgen.v1.TemplateService",
        "grpc.health.v1.Health",
      ]),
    );
    const names = (r: typeof symbol) =>
      r?.case === "fileDescriptorResponse" ? r.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name) : [];
    expect(names(symbol)).toEqual(["ticketgen/v1/ticket.proto", "google/protobuf/timestamp.proto", "ticketgen/v1/common.proto"]);
    expect(names(file)[0]).toBe("ticketgen/v1/batch.proto");
    expect(missing?.case === "errorResponse" && missing.value).toMatchObject({
      errorCode: 5,
      errorMessage: "Symbol not found: no.such.Symbol",
    });
  });
});
