import { parse } from '@bytecodealliance/jco';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_EXPORT_PREFIX } from '../compile/instrument.js';
import { imageRuns, InstancePool, type PooledInstance } from './instance-pool.js';

/**
 * A module shaped like a reusable guest: its state is a memory, a mutable
 * global and a table whose entry (from an active element segment) reads the
 * global, all exported for the reset as the deploy-time rewrite does.
 */
const WAT = `(module
  (import "micron:pool" "memory" (memory 1))
  (global $g (mut i32) (i32.const 0))
  (table $t 1 funcref)
  (elem (i32.const 0) $get)
  (type $ret (func (result i32)))
  (func $get (type $ret) (global.get $g))
  (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (func (export "viaTable") (result i32) (call_indirect (type $ret) (i32.const 0)))
  (func (export "grow") (drop (memory.grow (i32.const 1))))
  (export "${STATE_EXPORT_PREFIX}global0" (global $g))
  (export "${STATE_EXPORT_PREFIX}table0" (table $t)))`;

let module: WebAssembly.Module;
beforeAll(async () => {
  module = new WebAssembly.Module((await parse(WAT)) as Uint8Array<ArrayBuffer>);
});

function pool(): InstancePool {
  return new InstancePool(
    () => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
      return { exports: new WebAssembly.Instance(module, { 'micron:pool': { memory } }).exports as Record<string, unknown>, memory };
    },
    () => [],
  );
}

const call = (inst: PooledInstance, name: string): number => (inst.exports[name] as () => number)();

describe('InstancePool', () => {
  it('resets memory, globals and tables of a reused instance to its fresh state', () => {
    const p = pool();
    const a = p.acquire();
    call(a, 'bump');
    new Uint8Array(a.memory.buffer).fill(7, 100, 200);
    p.release(a);
    const again = p.takeIdle()!;
    expect(again === a).toBe(true);
    expect(call(again, 'viaTable')).toBe(0);
    expect(new Uint8Array(again.memory.buffer).subarray(100, 200).every((b) => b === 0)).toBe(true);
    expect(p.stats()).toMatchObject({ created: 1, reused: 1, discarded: 0 });
  });

  it("restores a later instance's table with its own functions, not the first instance's", () => {
    const p = pool();
    const first = p.acquire();
    call(first, 'bump');
    call(first, 'grow');
    p.release(first); // grown: dropped, not reset
    const second = p.acquire();
    expect(second === first).toBe(false);
    p.release(second);
    const reused = p.takeIdle()!;
    expect(reused === second).toBe(true);
    // Through its table the reused instance reads its own global (0, then 1), not the dropped first one's (1).
    expect(call(reused, 'viaTable')).toBe(0);
    call(reused, 'bump');
    expect(call(reused, 'viaTable')).toBe(1);
    expect(p.stats()).toMatchObject({ created: 2, reused: 1, discarded: 1 });
  });

  it('restores a memory image made of distant data segments, and zeroes what the guest wrote around them', async () => {
    // Shaped like a compiled guest: data far into the memory (past a zero "stack"), another segment near the end.
    const imaged = new WebAssembly.Module(
      (await parse(`(module
        (import "micron:pool" "memory" (memory 2))
        (data (i32.const 70000) "\\01\\02\\00\\03")
        (data (i32.const 131000) "tail"))`)) as Uint8Array<ArrayBuffer>,
    );
    const p = new InstancePool(
      () => {
        const memory = new WebAssembly.Memory({ initial: 2 });
        return { exports: new WebAssembly.Instance(imaged, { 'micron:pool': { memory } }).exports as Record<string, unknown>, memory };
      },
      () => [],
    );
    const a = p.acquire();
    const fresh = new Uint8Array(a.memory.buffer).slice();
    const u8 = new Uint8Array(a.memory.buffer);
    u8.fill(9, 0, 1000); // the "stack"
    u8.fill(9, 69990, 70010); // over and around the first segment
    u8[131003] = 0; // inside the second
    u8.fill(9, 131070, 131072); // the last bytes
    p.release(a);
    const again = p.takeIdle()!;
    expect(again === a).toBe(true);
    expect(Buffer.compare(new Uint8Array(again.memory.buffer), fresh)).toBe(0);
  });
});

describe('imageRuns', () => {
  it('keeps the non-zero stretches, joined across short zero gaps and split at long ones', () => {
    const u8 = new Uint8Array(4096);
    u8.set([1, 0, 2], 10); // one run: 10..12
    u8[12 + 256 + 1] = 3; // 256 zeros after 12: still the same run
    u8[2000] = 4; // far away: a run of its own
    u8[4095] = 5; // at the end
    const runs = imageRuns(u8);
    expect(runs.map((r) => [r.at, r.bytes.length])).toEqual([
      [10, 260],
      [2000, 1],
      [4095, 1],
    ]);
    expect(Array.from(runs[0]!.bytes.subarray(0, 3))).toEqual([1, 0, 2]);
    expect(runs[0]!.bytes[259]).toBe(3);
    expect(imageRuns(new Uint8Array(100))).toEqual([]);
  });
});
