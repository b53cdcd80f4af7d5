import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { CliError } from "./errors.ts";

export const DEFAULT_SERVER = "localhost:3004";
const DEFAULT_PORT = "3004";

/**
 * `host:port`, `host` (port 3004) or `http://host:port` → the transport's base URL. A bare
 * address means the service's own h2c port; an explicit URL is taken as written (https works
 * for a TLS proxy in front of the API).
 */
export function serverBaseUrl(server: string): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server);
  let url: URL;
  try {
    url = new URL(hasScheme ? server : `http://${server}`);
  } catch {
    throw new CliError(`--server: "${server}" is not host:port or http://host:port`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`--server: "${server}" must use http:// (or https:// behind a TLS proxy)`);
  }
  if (!hasScheme && url.port === "") url.port = DEFAULT_PORT;
  return url.href.replace(/\/$/, "");
}

export interface Clients {
  tickets: Client<typeof TicketService>;
  batches: Client<typeof BatchService>;
  templates: Client<typeof TemplateService>;
}

/** gRPC over HTTP/2 cleartext; no connection is opened until the first call. */
export function connect(server: string, token?: string): Clients {
  const authorize: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl: serverBaseUrl(server), interceptors: token ? [authorize] : [] });
  return {
    tickets: createClient(TicketService, transport),
    batches: createClient(BatchService, transport),
    templates: createClient(TemplateService, transport),
  };
}
