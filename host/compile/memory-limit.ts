/**
 * The host's memory limit, written into a core module that keeps its own
 * linear memory (one that was not rewritten to import a pooled memory, see
 * `instrument.ts`). V8 takes a memory's maximum from the module, so lowering
 * the declared maximum in the binary is what makes `memory.grow` past the
 * limit fail (return -1) inside the guest, exactly as if the module had
 * declared it.
 */

/** The module needs more memory at start than the limit allows. */
export class MemoryLimitError extends Error {
  constructor(
    readonly initialPages: number,
    readonly limitPages: number,
  ) {
    super(`the module needs ${initialPages} pages (64 KiB each) of memory at start; the limit is ${limitPages}`);
    this.name = 'MemoryLimitError';
  }
}

/**
 * Returns `module` with the maximum of every memory it defines lowered to
 * `maxPages` (64-bit and shared memories are left alone; imported memories
 * are bounded by whoever provides them). Returns the same bytes when nothing
 * needs to change. Throws {@link MemoryLimitError} when a memory's initial
 * size is already over the limit.
 */
export function capMemory(module: Uint8Array, maxPages: number): Uint8Array {
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = module[pos++];
      if (b === undefined) throw new Error('truncated module');
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 35) throw new Error('bad LEB128');
    }
  };
  while (pos < module.length) {
    const sectionStart = pos;
    const id = module[pos++]!;
    const size = u32();
    const start = pos;
    const end = start + size;
    if (id !== 5) {
      pos = end;
      continue;
    }
    const count = u32();
    const limits: { flags: number; initial: number; maximum: number | undefined }[] = [];
    let changed = false;
    for (let i = 0; i < count; i++) {
      const flags = u32();
      const initial = u32();
      const maximum = flags & 1 ? u32() : undefined;
      // Shared (bit 1) and 64-bit (bit 2) memories keep their limits.
      if ((flags & ~1) === 0) {
        if (initial > maxPages) throw new MemoryLimitError(initial, maxPages);
        if (maximum === undefined || maximum > maxPages) {
          limits.push({ flags: 1, initial, maximum: maxPages });
          changed = true;
          continue;
        }
      }
      limits.push({ flags, initial, maximum });
    }
    if (pos !== end) throw new Error('malformed memory section');
    if (!changed) return module;
    const body: number[] = [];
    leb(body, count);
    for (const l of limits) {
      leb(body, l.flags);
      leb(body, l.initial);
      if (l.maximum !== undefined) leb(body, l.maximum);
    }
    const head: number[] = [5];
    leb(head, body.length);
    const out = new Uint8Array(sectionStart + head.length + body.length + (module.length - end));
    out.set(module.subarray(0, sectionStart), 0);
    out.set(head, sectionStart);
    out.set(body, sectionStart + head.length);
    out.set(module.subarray(end), sectionStart + head.length + body.length);
    return out;
  }
  return module;
}

function leb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}
