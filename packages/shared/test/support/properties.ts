import fc from "fast-check";

/**
 * fast-check settings shared by the property tests: a fixed seed, so that every run checks the
 * same inputs and a failure reproduces; FC_SEED=<n> explores other inputs (fast-check prints
 * the seed and path of any counterexample).
 */
export const SEED = Number(process.env.FC_SEED ?? 20_250_815);

export function properties<T>(numRuns: number): fc.Parameters<T> {
  return { seed: SEED, numRuns };
}

/** Any UTF-16 code unit: lone surrogates included, which no UTF-8 file or protobuf string holds. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

/**
 * Text as a hostile caller sends it: well-formed Unicode in every plane, lone surrogates, and
 * strings made of `alphabet` (the characters that reach the deeper checks of a parser).
 */
export function anyText(alphabet: string, maxLength = 200): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: "binary", maxLength }),
    fc.string({ unit: codeUnit, maxLength }),
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength }),
  );
}

/** Every single-character substitution, deletion and insertion of `text`, drawing characters from `alphabet`. */
export function* singleCharacterChanges(text: string, alphabet: Iterable<string>): Generator<{ change: string; text: string }> {
  const characters = [...new Set(alphabet)];
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length) yield { change: `delete ${i}`, text: text.slice(0, i) + text.slice(i + 1) };
    for (const char of characters) {
      if (i < text.length && char !== text[i])
        yield { change: `${i}: ${text[i]} → ${JSON.stringify(char)}`, text: text.slice(0, i) + char + text.slice(i + 1) };
      yield { change: `insert ${JSON.stringify(char)} at ${i}`, text: text.slice(0, i) + char + text.slice(i) };
    }
  }
}
