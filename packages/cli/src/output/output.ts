import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

/**
 * Where results go: stdout, either one JSON object per line (the proto JSON of each response,
 * for scripts) or readable text. Progress and errors stay on stderr, so stdout pipes cleanly.
 */
export class Output {
  constructor(readonly json: boolean) {}

  /** A response message; without `human`, human mode shows it otherwise (the progress bar). */
  message<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, human?: () => string): void {
    if (this.json) this.write(JSON.stringify(toJson(schema, message)));
    else if (human) this.write(human());
  }

  /** A result that is no proto message, such as a file written. */
  record(value: Record<string, unknown>, human: () => string): void {
    this.write(this.json ? JSON.stringify(value) : human());
  }

  /** Text for people only, such as a summary of what the JSON lines already said. */
  human(text: () => string): void {
    if (!this.json) this.write(text());
  }

  private write(text: string): void {
    process.stdout.write(`${text}\n`);
  }
}
