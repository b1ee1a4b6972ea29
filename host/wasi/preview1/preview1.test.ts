import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { Errno } from './errno.ts';
import { importAliases, Preview1, PREVIEW1_FUNCTIONS } from './preview1.ts';

const P1 = 'wasi_snapshot_preview1';

/** Instantiates WAT against a Preview1 and runs `_start`; returns the memory words at 0.. for inspection. */
async function run(wat: string, wasi = new Preview1({ args: ['app'], env: {} })) {
  const module = new WebAssembly.Module((await parse(wat)) as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, wasi.imports);
  const t0 = performance.now();
  const code = wasi.start(instance);
  const elapsedMs = performance.now() - t0;
  const view = new DataView((instance.exports.memory as WebAssembly.Memory).buffer);
  return { code, view, elapsedMs, wasi, module };
}

describe('Preview1', () => {
  it('provides all 46 wasi_snapshot_preview1 functions', () => {
    expect(PREVIEW1_FUNCTIONS).toHaveLength(46);
    expect(PREVIEW1_FUNCTIONS).toContain('poll_oneoff');
    expect(PREVIEW1_FUNCTIONS).toContain('sock_shutdown');
  });

  it('sleeps virtually: a 5 s clock subscription returns at once and the clocks move 5 s', async () => {
    // subscription at 100 (48 bytes): userdata 7, tag 0 (clock), id 1 (monotonic), timeout 5e9 ns, relative.
    const { view, elapsedMs, code } = await run(`(module
      (import "${P1}" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (import "${P1}" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (drop (call $now (i32.const 1) (i64.const 1) (i32.const 0)))
        (i64.store (i32.const 100) (i64.const 7))
        (i32.store8 (i32.const 108) (i32.const 0))
        (i32.store (i32.const 116) (i32.const 1))
        (i64.store (i32.const 124) (i64.const 5000000000))
        (i32.store (i32.const 400) (call $poll (i32.const 100) (i32.const 200) (i32.const 1) (i32.const 300)))
        (drop (call $now (i32.const 1) (i64.const 1) (i32.const 8)))))`);
    expect(code).toBeUndefined();
    expect(elapsedMs).toBeLessThan(1000);
    expect(view.getUint32(400, true)).toBe(Errno.success);
    expect(view.getUint32(300, true)).toBe(1); // one event
    expect(view.getBigUint64(200, true)).toBe(7n); // its userdata
    expect(view.getUint8(210)).toBe(0); // type clock
    const slept = view.getBigUint64(8, true) - view.getBigUint64(0, true);
    expect(slept).toBeGreaterThanOrEqual(5_000_000_000n);
  });

  it('has no preopens, files or sockets, and answers file operations on stdio like a tty', async () => {
    const { view } = await run(`(module
      (import "${P1}" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
      (import "${P1}" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "${P1}" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
      (import "${P1}" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
      (import "${P1}" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "${P1}" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
      (import "${P1}" "fd_close" (func $close (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i32.store (i32.const 0) (call $prestat (i32.const 3) (i32.const 512)))
        (i32.store (i32.const 4) (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 512)))
        (i32.store (i32.const 8) (call $accept (i32.const 0) (i32.const 0) (i32.const 512)))
        (i32.store (i32.const 12) (call $seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 512)))
        (i32.store (i32.const 16) (call $write (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 512)))
        (i32.store (i32.const 20) (call $fdstat (i32.const 1) (i32.const 600)))
        (i32.store (i32.const 24) (call $close (i32.const 1)))
        (i32.store (i32.const 28) (call $write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 512)))))`);
    const at = (o: number) => view.getUint32(o, true);
    expect([at(0), at(4), at(8), at(12), at(16)]).toEqual([Errno.badf, Errno.badf, Errno.notsock, Errno.spipe, Errno.badf]);
    expect(at(20)).toBe(Errno.success);
    expect(view.getUint8(600)).toBe(2); // character device
    expect([at(24), at(28)]).toEqual([Errno.success, Errno.badf]); // closed stdout stays closed
  });

  it('fills random_get from the host CSPRNG and reports unknown clocks as EINVAL', async () => {
    const { view } = await run(`(module
      (import "${P1}" "random_get" (func $random (param i32 i32) (result i32)))
      (import "${P1}" "clock_res_get" (func $res (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i32.store (i32.const 0) (call $random (i32.const 64) (i32.const 256)))
        (i32.store (i32.const 4) (call $res (i32.const 9) (i32.const 8)))))`);
    expect(view.getUint32(0, true)).toBe(Errno.success);
    const bytes = new Uint8Array(view.buffer, 64, 256);
    expect(new Set(bytes).size).toBeGreaterThan(64);
    expect(view.getUint32(4, true)).toBe(Errno.inval);
  });

  it('returns the proc_exit code from start()', async () => {
    const { code } = await run(`(module
      (import "${P1}" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 3)) unreachable))`);
    expect(code).toBe(3);
  });

  it('links the renamed duplicate imports a component gives a module ("fd_write [v2]")', async () => {
    const wat = `(module
      (import "${P1}" "fd_write" (func $a (param i32 i32 i32 i32) (result i32)))
      (import "${P1}" "fd_write [v2]" (func $b (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "hi")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 2))
        (drop (call $b (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
    const module = new WebAssembly.Module((await parse(wat)) as Uint8Array<ArrayBuffer>);
    expect(importAliases(module)).toEqual([['fd_write [v2]', 'fd_write']]);
    const wasi = new Preview1({ args: [], env: {}, aliases: importAliases(module) });
    await run(wat, wasi);
    expect(new TextDecoder().decode(wasi.stdout.bytes())).toBe('hi');
  });
});
