import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { capMemory, MemoryLimitError } from './memory-limit.js';

/** A module with its own memory that grows one page at a time until memory.grow fails, and reports the size. */
const growWat = (limits: string) => `(module
  (memory (export "memory") ${limits})
  (func (export "grow") (result i32)
    (block $full (loop $more
      (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $more)))
    (memory.size)))`;

async function grown(bytes: Uint8Array): Promise<number> {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>);
  return (instance.exports.grow as () => number)();
}

describe('capMemory', () => {
  it('lowers the maximum of a memory without one, so memory.grow fails past the limit', async () => {
    const capped = capMemory(await parse(growWat('1')), 12);
    expect(WebAssembly.validate(capped as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(await grown(capped)).toBe(12);
  });

  it('lowers a declared maximum above the limit and keeps one below it', async () => {
    expect(await grown(capMemory(await parse(growWat('1 100')), 7))).toBe(7);
    const low = await parse(growWat('1 3'));
    expect(capMemory(low, 7)).toBe(low);
  });

  it('leaves a module without a memory alone', async () => {
    const bytes = await parse('(module (func (export "f")))');
    expect(capMemory(bytes, 1)).toBe(bytes);
  });

  it('refuses a module whose initial memory is over the limit', async () => {
    const big = await parse(growWat('20'));
    expect(() => capMemory(big, 10)).toThrow(MemoryLimitError);
  });
});
