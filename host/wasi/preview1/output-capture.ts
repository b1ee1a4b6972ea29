/**
 * Captures what a guest writes to stdout or stderr, up to a byte limit.
 *
 * Past the limit the capture stops and {@link OutputCapture.overflowed} is
 * set; the guest is still told that every byte was written, so a chatty guest
 * neither fails nor retries. The caller decides what an overflow means
 * (for stdout, a response too large to trust; for stderr, a truncated log).
 */
export class OutputCapture {
  #buffer: Uint8Array;
  #length = 0;
  #overflowed = false;

  /** @param limit - maximum bytes kept; writes past it are dropped */
  constructor(readonly limit: number) {
    this.#buffer = new Uint8Array(Math.min(limit, 4096));
  }

  /** Bytes kept so far. */
  get length(): number {
    return this.#length;
  }

  /** True once a write did not fit under the limit. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Appends `bytes` (copied), keeping at most `limit` bytes in total. */
  write(bytes: Uint8Array): void {
    if (this.#overflowed) return;
    let n = bytes.length;
    const room = this.limit - this.#length;
    if (n > room) {
      n = room;
      this.#overflowed = true;
    }
    if (n === 0) return;
    const need = this.#length + n;
    if (need > this.#buffer.length) {
      const grown = new Uint8Array(Math.min(this.limit, Math.max(need, this.#buffer.length * 2)));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(n === bytes.length ? bytes : bytes.subarray(0, n), this.#length);
    this.#length = need;
  }

  /** The captured bytes (a view; valid until the next write). */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** The captured bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return decoder.decode(this.bytes());
  }
}

const decoder = new TextDecoder();
