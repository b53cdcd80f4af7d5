import { clone, create, ScalarType, toBinary, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import fc from "fast-check";
import { grpcFrame } from "./raw-grpc.ts";

/** The largest request any RPC accepts with the defaults (GRPC_MAX_BATCH_REQUEST_BYTES, CreateBatch). */
export const READ_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Request bodies for fuzzing an RPC over raw gRPC, as fast-check arbitraries (so a seed
 * reproduces them): bytes a broken or hostile client could send, framed or mis-framed, and
 * well-formed messages whose every field is hostile.
 */

const ONE_HOSTILE_FIELD = "one hostile field";
/** Inputs that are well-formed protobuf of the method's request type. */
export const WELL_FORMED = new Set([ONE_HOSTILE_FIELD, "hostile message", "every string huge", "1 MB string"]);

export interface FuzzInput {
  /** What kind of input this is, for the report and for failure messages. */
  kind: string;
  body: Buffer;
  headers?: Record<string, string>;
}

const WIRE = { varint: 0, i64: 1, len: 2, sgroup: 3, egroup: 4, i32: 5 } as const;

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

const tag = (field: number, wire: number) => varint(BigInt(field) * 8n + BigInt(wire));
const lengthDelimited = (field: number, payload: Uint8Array) =>
  Buffer.concat([tag(field, WIRE.len), varint(BigInt(payload.length)), payload]);

/** Byte sequences that are not UTF-8: stray continuation bytes, overlong forms, surrogates, truncated sequences. */
const INVALID_UTF8 = [
  [0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xfe, 0xfe, 0xff, 0xff],
].map((b) => Buffer.from(b));

const invalidUtf8Text = fc
  .tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...INVALID_UTF8), fc.string({ maxLength: 20 }))
  .map(([before, bad, after]) => Buffer.concat([Buffer.from(before), bad, Buffer.from(after)]));

const anyVarint = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(varint),
  fc.constantFrom(0n, 1n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n).map(varint),
  // Over 10 bytes, or a continuation bit on the last byte: no valid varint.
  fc.constant(Buffer.alloc(11, 0xff)),
  fc.constant(Buffer.from([0x80])),
);

/** The raw content of one field with a given wire type. */
function payloadOf(wire: number, nested: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  switch (wire) {
    case WIRE.varint:
      return anyVarint;
    case WIRE.i64:
      return fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b));
    case WIRE.i32:
      return fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Buffer.from(b));
    case WIRE.len:
      return fc
        .oneof(
          nested,
          invalidUtf8Text,
          fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
        )
        .map((p) => Buffer.concat([varint(BigInt(p.length)), p]));
    default:
      // Groups (deprecated in proto3) and the undefined wire types 6 and 7: no content.
      return fc.constant(Buffer.alloc(0));
  }
}

function rightWire(field: DescField): number {
  if (field.fieldKind === "message" || field.fieldKind === "map" || (field.fieldKind === "list" && field.listKind === "message"))
    return WIRE.len;
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) return WIRE.varint;
  switch (field.scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WIRE.len;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WIRE.i64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WIRE.i32;
    default:
      return WIRE.varint;
  }
}

/**
 * A protobuf-ish encoding of `desc`: its real fields with the right or a wrong wire type, strings
 * that are not UTF-8, nested messages of the same kind, unknown and invalid field numbers, and
 * at times a last field whose length claims more bytes than follow.
 */
function protobufish(desc: DescMessage, depth = 2): fc.Arbitrary<Buffer> {
  const nestedOf = (message: DescMessage | undefined) =>
    message && depth > 0 ? protobufish(message, depth - 1) : fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b));
  const known = desc.fields.map((field) =>
    fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 7 })).chain(([right, anyWire]) => {
      const wire = right ? rightWire(field) : anyWire;
      return payloadOf(wire, nestedOf(field.message)).map((payload) => Buffer.concat([tag(field.number, wire), payload]));
    }),
  );
  const unknown = fc
    .tuple(
      fc.oneof(fc.integer({ min: 0, max: 2 ** 29 - 1 }), fc.constantFrom(0, 19_000, 2 ** 29 - 1, 2 ** 29)),
      fc.integer({ min: 0, max: 7 }),
    )
    .chain(([number, wire]) => payloadOf(wire, nestedOf(undefined)).map((payload) => Buffer.concat([tag(number, wire), payload])));
  const lying = fc
    .tuple(fc.constantFrom(...desc.fields.map((f) => f.number), 1), fc.integer({ min: 1, max: 2 ** 31 }), fc.uint8Array({ maxLength: 20 }))
    .map(([number, extra, bytes]) => Buffer.concat([tag(number, WIRE.len), varint(BigInt(bytes.length + extra)), bytes]));
  const field = known.length > 0 ? fc.oneof({ arbitrary: fc.oneof(...known), weight: 4 }, { arbitrary: unknown, weight: 1 }) : unknown;
  return fc
    .tuple(fc.array(field, { maxLength: 6 }), fc.option(lying, { freq: 5 }))
    .map(([fields, last]) => Buffer.concat([...fields, ...(last ? [last] : [])]));
}

/** A string field holding `size` bytes, the rest of the message valid protobuf. */
export function hugeStringField(desc: DescMessage, size: number): Buffer {
  const field = desc.fields.find((f) => f.fieldKind === "scalar" && f.scalar === ScalarType.STRING) ?? desc.fields[0];
  return lengthDelimited(field?.number ?? 1, Buffer.alloc(size, "x"));
}

/** `count` copies of a small field: a huge repeated field (or, for a singular field, the last one wins). */
export function repeatedField(desc: DescMessage, count: number): Buffer {
  const list = desc.fields.find((f) => f.fieldKind === "list") ?? desc.fields[0];
  const one = lengthDelimited(list?.number ?? 1, Buffer.from([0x0a, 0x01, 0x61]));
  return Buffer.concat(Array.from({ length: count }, () => one));
}

/** Strings no form expects: control and format characters, other scripts, injections, look-alikes. */
const WEIRD_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\u202Eevil\u202C",
  "\uFEFF",
  "\uFFFD",
  "\uD800",
  "\uDBFF\uDFFF",
  "👩‍👩‍👧‍👦",
  "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǵ̸̺͙o",
  "İıſßﬀ",
  "\r\n\t\v\f",
  "' OR 1=1 --",
  "%s%n%x",
  "{{#each this}}{{/each}}",
  "{{> ../../etc/passwd}}",
  "../../etc/passwd",
  "${process.exit()}",
  "<script>alert(1)</script>",
  "00000000-0000-0000-0000-000000000000",
  "01912D4C-8A3E-7B5F-9C21-3E4F5A6B7C8D",
  "TKT-LZ8X2K0-7GQ2ZP-00000000",
  "TG1.K1.AGIS2TEKHZ5V7HBBHZHVU234RUM7QKW5CF2SNTTIWYLWB7CFEL7X64JF6G5FYWVG3KIPTJA",
  "Europe/Paris",
  "fr",
  "ada@example.com",
];

const hostileString = (huge: number) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...WEIRD_STRINGS), weight: 4 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 50 }), weight: 2 },
    { arbitrary: fc.uuid(), weight: 1 },
    { arbitrary: fc.constantFrom(1, 129, 4097, huge).map((n) => "é".repeat(n)), weight: 1 },
  );

const SCALAR_VALUES: Partial<Record<ScalarType, fc.Arbitrary<unknown>>> = {
  [ScalarType.INT32]: fc.constantFrom(0, 1, -1, 500, 501, 2 ** 31 - 1, -(2 ** 31)),
  [ScalarType.UINT32]: fc.constantFrom(0, 1, 2 ** 32 - 1),
  [ScalarType.INT64]: fc.constantFrom(0n, -1n, 946_684_800n, 2n ** 63n - 1n, -(2n ** 63n)),
  [ScalarType.UINT64]: fc.constantFrom(0n, 2n ** 64n - 1n),
  [ScalarType.BOOL]: fc.boolean(),
  [ScalarType.BYTES]: fc.uint8Array({ maxLength: 40 }),
  [ScalarType.DOUBLE]: fc.double(),
  [ScalarType.FLOAT]: fc.float(),
};

function scalarValue(scalar: ScalarType, huge: number): fc.Arbitrary<unknown> {
  return scalar === ScalarType.STRING ? hostileString(huge) : (SCALAR_VALUES[scalar] ?? fc.constant(0));
}

/**
 * A well-formed `desc` (it encodes with @bufbuild/protobuf) whose fields hold hostile values:
 * weird Unicode, lone surrogates, strings up to `huge` characters, extreme numbers, enum values
 * out of range, absent or deeply filled sub-messages, every oneof case.
 */
export function hostileMessage(desc: DescMessage, huge: number, depth = 3): fc.Arbitrary<Record<string, unknown>> {
  const valueOf = (field: DescField): fc.Arbitrary<unknown> => {
    const sub = (message: DescMessage) => (depth > 0 ? hostileMessage(message, huge, depth - 1) : fc.constant({}));
    switch (field.fieldKind) {
      case "scalar":
        return scalarValue(field.scalar, huge);
      case "enum":
        return fc.integer({ min: -3, max: 12 });
      case "message":
        return fc.option(sub(field.message), { nil: undefined });
      case "list": {
        const item =
          field.listKind === "message"
            ? sub(field.message)
            : field.listKind === "enum"
              ? fc.integer({ min: -3, max: 12 })
              : scalarValue(field.scalar, huge);
        return fc.array(item, { maxLength: 3 });
      }
      case "map":
        return fc.dictionary(hostileString(64), field.mapKind === "message" ? sub(field.message) : fc.constant(undefined), { maxKeys: 2 });
    }
  };
  const plain = desc.fields.filter((f) => !f.oneof);
  const shape = Object.fromEntries(plain.map((f) => [f.localName, valueOf(f)]));
  const oneofs = desc.oneofs.map((oneof) =>
    fc
      .option(
        fc.constantFrom(...oneof.fields).chain((f) => valueOf(f).map((value) => ({ case: f.localName, value }))),
        { nil: undefined },
      )
      .map((choice) => [oneof.localName, choice ?? { case: undefined }] as const),
  );
  return fc.tuple(fc.record(shape), fc.tuple(...oneofs)).map(([fields, chosen]) => ({ ...fields, ...Object.fromEntries(chosen) }));
}

/** `desc` with every string field, at every depth, `size` characters of weird Unicode; lists of two, the first oneof case. */
export function everyStringHuge(desc: DescMessage, size: number, depth = 3): Record<string, unknown> {
  const text = "é\u0000👩‍👩‍👧‍👦\u202E".repeat(Math.ceil(size / 12)).slice(0, size);
  const valueOf = (field: DescField): unknown => {
    const sub = (message: DescMessage) => (depth > 0 ? everyStringHuge(message, size, depth - 1) : {});
    switch (field.fieldKind) {
      case "scalar":
        return field.scalar === ScalarType.STRING ? text : field.getDefaultValue();
      case "message":
        return sub(field.message);
      case "list":
        return field.listKind === "message"
          ? [sub(field.message), sub(field.message)]
          : field.listKind === "scalar" && field.scalar === ScalarType.STRING
            ? [text, text]
            : [];
      default:
        return undefined;
    }
  };
  const init: Record<string, unknown> = {};
  for (const field of desc.fields) if (!field.oneof) init[field.localName] = valueOf(field);
  for (const oneof of desc.oneofs) init[oneof.localName] = { case: oneof.fields[0]!.localName, value: valueOf(oneof.fields[0]!) };
  return init;
}

type Path = Array<string | number>;

/** The path (property names, list indexes) of every string field set in `message`, oneof values included. */
function stringPaths(desc: DescMessage, message: Record<string, unknown>, prefix: Path = []): Path[] {
  const paths: Path[] = [];
  const visit = (field: DescField, value: unknown, path: Path) => {
    if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) paths.push(path);
    else if (field.fieldKind === "message" && value) paths.push(...stringPaths(field.message, value as Record<string, unknown>, path));
    else if (field.fieldKind === "list" && field.listKind === "message") {
      (value as Array<Record<string, unknown>>).forEach((item, i) => paths.push(...stringPaths(field.message, item, [...path, i])));
    }
  };
  for (const field of desc.fields) {
    if (!field.oneof) visit(field, message[field.localName], [...prefix, field.localName]);
    else if ((message[field.oneof.localName] as { case?: string }).case === field.localName) {
      visit(field, (message[field.oneof.localName] as { value: unknown }).value, [...prefix, field.oneof.localName, "value"]);
    }
  }
  return paths;
}

/**
 * `base`, a valid request, with one of its string fields (at any depth) replaced by a hostile
 * string: the rest of the request passes validation, so the string reaches the handler, the
 * database, the queue. Undefined when `base` holds no string.
 */
function oneHostileField(desc: DescMessage, base: Message, huge: number): fc.Arbitrary<Buffer> | undefined {
  const paths = stringPaths(desc, base as unknown as Record<string, unknown>);
  if (paths.length === 0) return undefined;
  return fc.tuple(fc.constantFrom(...paths), hostileString(huge)).map(([path, text]) => {
    const message = clone(desc, base) as unknown as Record<string | number, unknown>;
    const parent = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>((node, key) => node[key] as Record<string | number, unknown>, message);
    parent[path.at(-1)!] = text;
    return Buffer.from(toBinary(desc, message as unknown as Message));
  });
}

export function encodeMessage(desc: DescMessage, init: Record<string, unknown>): Buffer {
  return Buffer.from(toBinary(desc, create(desc, init as never)));
}

/**
 * Every kind of input for one method. `huge` is the length of the hugest strings in a message;
 * the size limit is crossed on purpose by "over the limit" only.
 */
export function fuzzInputs(desc: DescMessage, huge: number, base?: Message): fc.Arbitrary<FuzzInput> {
  const frame = (kind: string) => (body: Buffer) => ({ kind, body: grpcFrame(body) });
  const oneField = base && oneHostileField(desc, base, huge);
  return fc.oneof(
    ...(oneField ? [{ arbitrary: oneField.map(frame(ONE_HOSTILE_FIELD)), weight: 4 }] : []),
    fc.uint8Array({ maxLength: 200 }).map((b) => frame("random bytes")(Buffer.from(b))),
    protobufish(desc).map(frame("protobuf-ish")),
    hostileMessage(desc, huge).map((init) => frame("hostile message")(encodeMessage(desc, init))),
    protobufish(desc).chain((body) =>
      fc.integer({ min: 1, max: 1 << 20 }).map((missing) => ({ kind: "truncated frame", body: grpcFrame(body, 0, body.length + missing) })),
    ),
    fc.uint8Array({ minLength: 1, maxLength: 4 }).map((b) => ({ kind: "truncated header", body: Buffer.from(b) })),
    protobufish(desc).map((body) => ({ kind: "compressed flag, no grpc-encoding", body: grpcFrame(body, 1) })),
    protobufish(desc).map((body) => ({ kind: "gzip that is not gzip", body: grpcFrame(body, 1), headers: { "grpc-encoding": "gzip" } })),
    fc
      .tuple(fc.integer({ min: 2, max: 255 }), protobufish(desc))
      .map(([flags, body]) => ({ kind: "unknown frame flags", body: grpcFrame(body, flags) })),
    fc.constant({ kind: "no message", body: Buffer.alloc(0) }),
    fc
      .array(hostileMessage(desc, 16), { minLength: 2, maxLength: 3 })
      .map((inits) => ({ kind: "several messages", body: Buffer.concat(inits.map((i) => grpcFrame(encodeMessage(desc, i)))) })),
    fc
      .oneof(
        fc.json({ maxDepth: 3 }),
        fc.constantFrom('{"id":"\\ud800"}', '{"guests":[{"id":"\\udfff"}]}', "[".repeat(5000), '{"id":1e999}', "{"),
        fc.string({ unit: "binary", maxLength: 60 }),
      )
      .map((json) => ({ kind: "JSON codec", body: grpcFrame(Buffer.from(json)), headers: { "content-type": "application/grpc+json" } })),
    fc.constant({ kind: "declared over the limit", body: grpcFrame(Buffer.alloc(16), 0, READ_MAX_BYTES + 1) }),
    fc.constant({ kind: "declared 4 GiB", body: grpcFrame(Buffer.alloc(16), 0, 2 ** 32 - 1) }),
  );
}
