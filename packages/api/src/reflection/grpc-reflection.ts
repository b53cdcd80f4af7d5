import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/** Each file once, its dependencies included, serialized as FileDescriptorProtos. */
function fileDescriptorProtos(files: readonly DescFile[]): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  const visit = (file: DescFile) => {
    if (seen.has(file.proto.name)) return;
    seen.add(file.proto.name);
    out.push(Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
    file.dependencies.forEach(visit);
  };
  files.forEach(visit);
  return out;
}

/**
 * gRPC server reflection (v1 and v1alpha) from @grpc/reflection, so that grpcurl and buf curl
 * call the server without the .proto files. It reads the package definition @grpc/proto-loader
 * would build; this one is built from the generated protobuf-es descriptors instead.
 */
export function addReflection(server: grpc.Server, files: readonly DescFile[]): void {
  const definition = {
    described: { format: "Protocol Buffer 3 FileDescriptorProto", fileDescriptorProtos: fileDescriptorProtos(files) },
  } as unknown as PackageDefinition;
  new ReflectionService(definition).addToServer(server);
}
