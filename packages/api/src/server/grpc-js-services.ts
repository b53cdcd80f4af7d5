import type * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * A request grpc-js read but the RPC refuses before any handler runs: larger than the RPC's
 * limit, or not a valid message. The deserializer returns it rather than throwing, since
 * grpc-js answers a throwing deserializer with INTERNAL.
 */
export class RefusedRequest {
  constructor(readonly error: ConnectError) {}
}

/** The request decoder of one RPC: the RPC's own size limit first, then protobuf-es' binary parser. */
function requestDecoder(method: DescMethod, maxBytes: number): (bytes: Buffer) => unknown {
  return (bytes) => {
    if (bytes.length > maxBytes) {
      return new RefusedRequest(
        new ConnectError(`message size ${bytes.length} is larger than configured readMaxBytes ${maxBytes}`, Code.ResourceExhausted),
      );
    }
    try {
      return fromBinary(method.input, bytes);
    } catch (error) {
      return new RefusedRequest(new ConnectError(`parse binary: ${(error as Error).message}`, Code.InvalidArgument));
    }
  };
}

/** The encoded message as the Buffer grpc-js frames: a view of toBinary's own new array, not a copy. */
function encoded(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A grpc-js service definition from a protobuf-es service descriptor: the same paths as
 * protoc's (`/package.Service/Method`), messages encoded with the generated schemas, keyed by
 * each method's localName.
 */
export function grpcServiceDefinition(service: DescService, requestBytes: (method: DescMethod) => number): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.localName,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (message) => encoded(toBinary(method.input, message as never)),
      requestDeserialize: requestDecoder(method, requestBytes(method)),
      responseSerialize: (message) => encoded(toBinary(method.output, message as never)),
      responseDeserialize: (bytes) => fromBinary(method.output, bytes),
    };
  }
  return definition;
}
