import { toBinary, type DescFile, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "@ticketgen/shared/gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ServerReflectionV1Alpha } from "@ticketgen/shared/gen/grpc/reflection/v1alpha/reflection_pb";

/** Everything the server can describe: files by name and the file that declares each symbol. */
class DescriptorIndex {
  readonly files = new Map<string, DescFile>();
  readonly symbols = new Map<string, DescFile>();

  constructor(roots: readonly DescFile[]) {
    for (const file of roots) this.addFile(file);
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    file.dependencies.forEach((dep) => this.addFile(dep));
    const addMessage = (message: DescMessage) => {
      this.symbols.set(message.typeName, file);
      message.nestedMessages.forEach(addMessage);
      message.nestedEnums.forEach((e) => this.symbols.set(e.typeName, file));
      message.nestedExtensions.forEach((x) => this.symbols.set(x.typeName, file));
    };
    file.messages.forEach(addMessage);
    file.enums.forEach((e) => this.symbols.set(e.typeName, file));
    file.extensions.forEach((x) => this.symbols.set(x.typeName, file));
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      service.methods.forEach((m) => this.symbols.set(`${service.typeName}.${m.name}`, file));
    }
  }

  /** The file first, then every transitive dependency, each once. */
  withDependencies(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }
}

type Request = {
  host: string;
  messageRequest: { case: string | undefined; value?: unknown };
};

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/**
 * gRPC server reflection (v1 and v1alpha share one message layout), so that grpcurl and
 * buf curl can call the server without the .proto files.
 */
export function reflectionServices(files: readonly DescFile[], serviceNames: readonly string[]) {
  const index = new DescriptorIndex(files);
  const names = [...serviceNames, ServerReflectionV1.typeName, ServerReflectionV1Alpha.typeName];

  const answer = (req: Request) => {
    const fail = (code: number, message: string) => ({
      case: "errorResponse" as const,
      value: { errorCode: code, errorMessage: message },
    });
    const fileResponse = (file: DescFile | undefined, what: string) =>
      file
        ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: index.withDependencies(file) } }
        : fail(NOT_FOUND, `${what} not found`);
    const { case: kind, value } = req.messageRequest;
    switch (kind) {
      case "listServices":
        return { case: "listServicesResponse" as const, value: { service: names.map((name) => ({ name })) } };
      case "fileByFilename":
        return fileResponse(index.files.get(value as string), `file ${String(value)}`);
      case "fileContainingSymbol":
        return fileResponse(index.symbols.get(value as string), `symbol ${String(value)}`);
      case "allExtensionNumbersOfType":
        return index.symbols.has(value as string)
          ? { case: "allExtensionNumbersResponse" as const, value: { baseTypeName: value as string, extensionNumber: [] } }
          : fail(NOT_FOUND, `type ${String(value)} not found`);
      case "fileContainingExtension":
        return fail(NOT_FOUND, "this server declares no extensions");
      default:
        return fail(UNIMPLEMENTED, "unknown reflection request");
    }
  };

  async function* serverReflectionInfo(requests: AsyncIterable<Request>) {
    for await (const req of requests) {
      yield { validHost: req.host, originalRequest: req, messageResponse: answer(req) };
    }
  }

  return {
    v1: { serverReflectionInfo } as unknown as ServiceImpl<typeof ServerReflectionV1>,
    v1alpha: { serverReflectionInfo } as unknown as ServiceImpl<typeof ServerReflectionV1Alpha>,
  };
}
