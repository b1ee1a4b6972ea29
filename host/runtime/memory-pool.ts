/**
 * Recycled linear memories for one prepared component: V8's counterpart of
 * wasmtime's pooling allocator. A fresh `WebAssembly.Memory` makes V8 reserve
 * about 10 GB of address space and costs tens of µs; handing an instance a
 * memory that a finished instance used, after zeroing it, costs a memset of
 * the pages in use. A memory that grew is not reused (a new instance must see
 * the module's initial size), and the pool keeps at most `capacity` idle
 * memories, so a burst does not pin address space forever.
 */

/** Pool statistics. */
export interface MemoryPoolStats {
  idle: number;
  created: number;
  reused: number;
  discarded: number;
}

/** A pool of equally sized memories. */
export class MemoryPool {
  private readonly idle: WebAssembly.Memory[] = [];
  private readonly bytes: number;
  private created = 0;
  private reused = 0;
  private discarded = 0;

  constructor(
    /** Initial size in 64 KiB pages. */
    readonly initial: number,
    /** Maximum size in pages (the module's declared maximum, or a host limit). */
    readonly maximum: number | undefined,
    readonly capacity = 64,
  ) {
    this.bytes = initial * 65536;
  }

  /** A zeroed memory of the initial size. */
  acquire(): WebAssembly.Memory {
    const m = this.idle.pop();
    if (m) {
      this.reused++;
      return m;
    }
    this.created++;
    return new WebAssembly.Memory(this.maximum === undefined ? { initial: this.initial } : { initial: this.initial, maximum: this.maximum });
  }

  /** Returns a memory whose instance is finished. */
  release(m: WebAssembly.Memory): void {
    const buf = m.buffer;
    if (buf.byteLength !== this.bytes || this.idle.length >= this.capacity) {
      this.discarded++;
      return;
    }
    new Uint8Array(buf).fill(0);
    this.idle.push(m);
  }

  stats(): MemoryPoolStats {
    return { idle: this.idle.length, created: this.created, reused: this.reused, discarded: this.discarded };
  }
}
