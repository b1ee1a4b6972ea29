/**
 * The guest's linear memory as seen by host calls.
 *
 * Every preview1 call reads or writes guest memory, so the views are cached
 * and rebuilt only when the guest grows its memory (a grow detaches the old
 * `ArrayBuffer`, so comparing buffer identity is exact and cheap).
 */
export class GuestMemory {
  #memory: WebAssembly.Memory | undefined;
  #buffer: ArrayBuffer | undefined;
  #view: DataView = new DataView(new ArrayBuffer(0));
  #bytes: Uint8Array = new Uint8Array(0);

  /** Attaches the instance's exported memory; must happen before the guest runs. */
  bind(memory: WebAssembly.Memory): void {
    this.#memory = memory;
    this.#buffer = undefined;
  }

  /** The bound memory (throws if none is bound: a guest called in before `bind`). */
  get memory(): WebAssembly.Memory {
    const memory = this.#memory;
    if (memory === undefined) throw new Error('preview1: guest memory used before it was bound');
    return memory;
  }

  /** A `DataView` over the current buffer (little-endian accessors are the guest's byte order). */
  get view(): DataView {
    const buffer = this.memory.buffer;
    if (buffer !== this.#buffer) this.#refresh(buffer);
    return this.#view;
  }

  /** A `Uint8Array` over the current buffer. */
  get bytes(): Uint8Array {
    const buffer = this.memory.buffer;
    if (buffer !== this.#buffer) this.#refresh(buffer);
    return this.#bytes;
  }

  #refresh(buffer: ArrayBuffer): void {
    this.#buffer = buffer;
    this.#view = new DataView(buffer);
    this.#bytes = new Uint8Array(buffer);
  }
}
