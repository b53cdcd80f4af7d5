import type * as grpc from "@grpc/grpc-js";
import type { HeaderSource } from "../auth/authenticate.ts";

/**
 * gRPC metadata as header pairs, which connect turns into the Headers the pipeline reads (a
 * value that is no valid header fails there); binary values base64, as on the wire.
 */
export function headerPairsOf(metadata: grpc.Metadata): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) pairs.push([key, typeof value === "string" ? value : value.toString("base64")]);
  }
  return pairs;
}

/** The metadata as the authenticator reads it, without building Headers. */
export function metadataSource(metadata: grpc.Metadata): HeaderSource {
  return {
    // As Headers.get: every value of the name, joined.
    get(name) {
      const values = metadata.get(name);
      return values.length === 0 ? null : values.map((v) => (typeof v === "string" ? v : v.toString("base64"))).join(", ");
    },
  };
}
