/** One signing key: `kid` travels in the token so that verification can pick the secret. */
export interface SigningKey {
  kid: string;
  secret: Buffer;
}

/** The first key signs; every key verifies (rotation: prepend the new key, drop the old later). */
export interface KeyRing {
  signing: SigningKey;
  byKid: ReadonlyMap<string, SigningKey>;
}

export const KID_PATTERN = /^[A-Z0-9]{1,8}$/;
export const MIN_SECRET_BYTES = 32;

export function createKeyRing(keys: readonly SigningKey[]): KeyRing {
  const [signing] = keys;
  if (!signing) throw new Error("a key ring needs at least one key");
  const byKid = new Map<string, SigningKey>();
  for (const [index, key] of keys.entries()) {
    // Not echoed: a kid that breaks the pattern may be the start of a secret written without one.
    if (!KID_PATTERN.test(key.kid)) {
      throw new Error(`the id of key ${index + 1} must be 1 to 8 characters A-Z or 0-9`);
    }
    if (key.secret.length < MIN_SECRET_BYTES) {
      throw new Error(`the secret of key "${key.kid}" is ${key.secret.length} bytes; at least ${MIN_SECRET_BYTES} are required`);
    }
    if (byKid.has(key.kid)) throw new Error(`key id "${key.kid}" appears twice`);
    byKid.set(key.kid, key);
  }
  return { signing, byKid };
}

/** Parses `kid:secret,kid:secret`; secrets are UTF-8 and may themselves contain ':'. Errors never quote the text. */
export function parseSigningKeys(spec: string): SigningKey[] {
  return spec
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part, index) => {
      const colon = part.indexOf(":");
      if (colon <= 0) throw new Error(`key ${index + 1} is not of the form kid:secret`);
      return { kid: part.slice(0, colon), secret: Buffer.from(part.slice(colon + 1), "utf8") };
    });
}
