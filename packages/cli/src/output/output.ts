import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

/**
 * Where results go: stdout, either one JSON object per line (proto JSON of the response, for
 * scripts) or readable text. Progress and errors stay on stderr, so stdout pipes cleanly.
 */
export class Output {
  constructor(readonly json: boolean) {}

  message<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, human: () => string): void {
    this.write(this.json ? JSON.stringify(toJson(schema, message)) : human());
  }

  /** A result that is no proto message, such as a file written. */
  record(value: Record<string, unknown>, human: () => string): void {
    this.write(this.json ? JSON.stringify(value) : human());
  }

  private write(text: string): void {
    process.stdout.write(`${text}\n`);
  }
}
