import { describe, expect, it } from "vitest";
import { SCOPES } from "@ticketgen/shared";
import { file_health_v1_health } from "@ticketgen/shared/gen/health/v1/health_pb";
import { file_grpc_reflection_v1_reflection } from "@ticketgen/shared/gen/grpc/reflection/v1/reflection_pb";
import { file_grpc_reflection_v1alpha_reflection } from "@ticketgen/shared/gen/grpc/reflection/v1alpha/reflection_pb";
import { file_ticketgen_v1_batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { file_ticketgen_v1_template } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { file_ticketgen_v1_ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { createCallAuthenticator } from "../src/auth/authenticate.ts";
import { METHOD_SCOPES, methodName, requiredScope } from "../src/auth/method-scopes.ts";

// Every method of the generated contract: a new RPC in proto/ appears here without any edit.
const contractMethods = [file_ticketgen_v1_ticket, file_ticketgen_v1_batch, file_ticketgen_v1_template].flatMap((file) =>
  file.services.flatMap((service) => service.methods.map(methodName)),
);
const publicMethods = [file_health_v1_health, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection].flatMap((file) =>
  file.services.flatMap((service) => service.methods.map(methodName)),
);

describe("the scope table", () => {
  it.each(contractMethods)("gives %s a scope", (method) => {
    expect(SCOPES).toContain(requiredScope(method));
  });

  it.each(publicMethods)("leaves %s open without a token", (method) => {
    expect(requiredScope(method)).toBe("public");
  });

  it("names no method the contract does not have", () => {
    expect([...METHOD_SCOPES.keys()].sort()).toEqual([...contractMethods].sort());
  });

  it("refuses a method that is in no table, even to a caller with every scope", async () => {
    const authenticate = createCallAuthenticator(undefined);
    await expect(authenticate({ get: () => null }, "ticketgen.v1.TicketService/DeleteEverything")).rejects.toThrow(
      "ticketgen.v1.TicketService/DeleteEverything is not open to any caller",
    );
    await expect(authenticate({ get: () => null }, "ticketgen.v1.TicketService/GetTicket")).resolves.toMatchObject({ tenantId: "default" });
  });
});
