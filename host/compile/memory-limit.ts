/**
 * The host's memory limit, written into a core module that keeps its own
 * linear memory (one that was not rewritten to import a pooled memory, see
 * `instrument.ts`). V8 takes a memory's maximum from the module, so lowering
 * the declared maximum in the binary is what makes `memory.grow` past the
 * limit fail (return -1) inside the guest, exactly as if the module had
 * declared it.
 */
import { ByteReader, leb, readSections, SectionId, writeSections } from '../wasi/preview1/core-module.js';

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
  const sections = readSections(module);
  const at = sections.findIndex((s) => s.id === SectionId.memory);
  if (at === -1) return module;
  const r = new ByteReader(sections[at]!.payload);
  const count = r.u32();
  const body: number[] = leb(count);
  let changed = false;
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    const initial = r.u32();
    const maximum = flags & 1 ? r.u32() : undefined;
    // Shared (bit 1) and 64-bit (bit 2) memories keep their limits.
    if ((flags & ~1) === 0 && initial > maxPages) throw new MemoryLimitError(initial, maxPages);
    const lower = (flags & ~1) === 0 && (maximum === undefined || maximum > maxPages);
    changed ||= lower;
    body.push(...leb(lower ? 1 : flags), ...leb(initial));
    if (lower) body.push(...leb(maxPages));
    else if (maximum !== undefined) body.push(...leb(maximum));
  }
  if (!r.done) throw new RangeError('wasm: malformed memory section');
  if (!changed) return module;
  sections[at] = { id: SectionId.memory, payload: new Uint8Array(body) };
  return writeSections(sections);
}
