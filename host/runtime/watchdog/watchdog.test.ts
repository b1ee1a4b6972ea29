import { parse } from '@bytecodealliance/jco';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeadlineExceeded } from './deadline-exceeded.js';
import { nativeWatchdog } from './native-watchdog.js';
import { vmWatchdog } from './vm-watchdog.js';
import type { Watchdog } from './watchdog.js';

let spin: (a: number, b: number) => void;
let add: (a: number, b: number) => number;

beforeAll(async () => {
  const bytes = await parse(`(module
    (func (export "spin") (param i32 i32) (loop $l (br $l)))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`);
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>);
  spin = instance.exports.spin as typeof spin;
  add = instance.exports.add as typeof add;
});

function loadNative(): Watchdog | undefined {
  try {
    return nativeWatchdog();
  } catch (e) {
    if (process.env.MICRON_REQUIRE_WATCHDOG === '1') throw e;
    console.warn(`skipping the native watchdog tests: ${(e as Error).message}`);
    return undefined;
  }
}

const native = loadNative();
const kinds: [string, () => Watchdog | undefined][] = [
  ['native', () => native],
  ['vm', () => vmWatchdog()],
];

describe.each(kinds)('the %s watchdog', (_name, make) => {
  const w = make();
  const run = w ? it : it.skip;

  run('returns what the guest returns', () => {
    expect(w!.call(add, 2, 40, 1000)).toBe(42);
  });

  run('stops a wasm loop that never yields, and the thread keeps working', async () => {
    expect(() => w!.call(spin, 0, 0, 50)).toThrow(DeadlineExceeded);
    expect(w!.call(add, 1, 1, 1000)).toBe(2);
    // Timers and promises still run.
    await new Promise((r) => setTimeout(r, 1));
    expect(() => w!.call(spin, 0, 0, 20)).toThrow(DeadlineExceeded);
  });

  run('stops a later call with a short deadline after a call with a very long one', () => {
    // If the watchdog kept sleeping until the first deadline, this would hang.
    expect(w!.call(add, 1, 2, 1e9)).toBe(3);
    expect(() => w!.call(spin, 0, 0, 30)).toThrow(DeadlineExceeded);
  });

  run('passes exceptions through unchanged', () => {
    const boom = new Error('boom');
    expect(() =>
      w!.call(
        () => {
          throw boom;
        },
        0,
        0,
        1000,
      ),
    ).toThrow(boom);
    expect(() => w!.call(() => (null as unknown as { x: number }).x, 0, 0, 1000)).toThrow(TypeError);
  });

  run('runs a nested call under the outer deadline', () => {
    expect(w!.call((a: number, b: number) => w!.call(add, a, b, 1000) * 2, 3, 4, 1000)).toBe(14);
    expect(() => w!.call(() => w!.call(spin, 0, 0, 1e9), 0, 0, 40)).toThrow(DeadlineExceeded);
  });

  run('refuses to start a call with no time left', () => {
    expect(() => w!.call(add, 1, 2, 0)).toThrow(DeadlineExceeded);
    expect(() => w!.call(add, 1, 2, -5)).toThrow(DeadlineExceeded);
  });

  run('survives many short calls interleaved with stops', () => {
    let sum = 0;
    for (let i = 0; i < 2_000; i++) sum += w!.call(add, i, 1, 1000);
    expect(sum).toBe((2_000 * 1_999) / 2 + 2_000);
    for (let i = 0; i < 3; i++) expect(() => w!.call(spin, 0, 0, 5)).toThrow(DeadlineExceeded);
  });
});
