import { describe, expect, it } from 'vitest';
import { MemoryPool } from './memory-pool.js';

describe('MemoryPool', () => {
  it('hands back a released memory zeroed', () => {
    const pool = new MemoryPool(1, 4);
    const m = pool.acquire();
    new Uint8Array(m.buffer).fill(7);
    pool.release(m);
    const again = pool.acquire();
    expect(again).toBe(m);
    expect(new Uint8Array(again.buffer).every((b) => b === 0)).toBe(true);
    expect(pool.stats()).toMatchObject({ created: 1, reused: 1 });
  });

  it('does not reuse a memory that grew, so every instance starts at the initial size', () => {
    const pool = new MemoryPool(1, 4);
    const m = pool.acquire();
    m.grow(1);
    pool.release(m);
    expect(pool.acquire()).not.toBe(m);
    expect(pool.stats().discarded).toBe(1);
  });

  it('keeps at most its capacity of idle memories', () => {
    const pool = new MemoryPool(1, undefined, 2);
    const ms = [pool.acquire(), pool.acquire(), pool.acquire()];
    for (const m of ms) pool.release(m);
    expect(pool.stats()).toMatchObject({ idle: 2, discarded: 1 });
  });
});
