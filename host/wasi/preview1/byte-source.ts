/**
 * The guest's stdin: a fixed byte sequence (the request body) read front to
 * back. Reads past the end return 0 bytes, which a guest sees as EOF.
 */
export class ByteSource {
  #offset = 0;

  constructor(readonly bytes: Uint8Array) {}

  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.#offset;
  }

  /** Copies up to `length` bytes into `target` at `at`; returns how many were copied. */
  readInto(target: Uint8Array, at: number, length: number): number {
    const n = Math.min(length, this.bytes.length - this.#offset);
    if (n <= 0) return 0;
    target.set(this.bytes.subarray(this.#offset, this.#offset + n), at);
    this.#offset += n;
    return n;
  }
}
