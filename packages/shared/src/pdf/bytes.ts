const INITIAL_CAPACITY = 320 * 1024;

/** An append-only byte buffer whose contents are handed over (not copied) by take(). */
export class ByteSink {
  private buffer = new Uint8Array(INITIAL_CAPACITY);
  length = 0;

  /** Appends a string of ASCII (or Latin-1) characters, one byte each. */
  ascii(text: string): void {
    const buffer = this.ensure(text.length);
    let offset = this.length;
    for (let i = 0; i < text.length; i++) buffer[offset++] = text.charCodeAt(i);
    this.length = offset;
  }

  bytes(bytes: Uint8Array): void {
    this.ensure(bytes.length).set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The next `size` bytes of the buffer, to be filled by the caller. */
  reserve(size: number): Uint8Array {
    const view = this.ensure(size).subarray(this.length, this.length + size);
    this.length += size;
    return view;
  }

  /** Everything appended since the last take(); the sink starts over with a fresh buffer. */
  take(): Uint8Array {
    const bytes = this.buffer.subarray(0, this.length);
    this.buffer = new Uint8Array(INITIAL_CAPACITY);
    this.length = 0;
    return bytes;
  }

  private ensure(extra: number): Uint8Array {
    if (this.length + extra > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    return this.buffer;
  }
}

/** A growable array of non-negative numbers (8 bytes each), 0 where never set. */
export class NumberTable {
  private values = new Float64Array(1024);
  length = 0;

  get(index: number): number {
    return index < this.values.length ? this.values[index]! : 0;
  }

  set(index: number, value: number): void {
    if (index >= this.values.length) {
      const grown = new Float64Array(Math.max(this.values.length * 2, index + 1));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[index] = value;
    if (index >= this.length) this.length = index + 1;
  }

  push(value: number): void {
    this.set(this.length, value);
  }
}
